// Search page: results are cached on window so that going back to a query is instant. The
// query includes the user's filters and a timestamp, so entries are never reused, and the
// cache has no limit.
'use strict';
window.searchResultsCache = new Map();
const input = document.getElementById('q');
const resultsList = document.getElementById('results');
let searches = 0;

function runSearch(query) {
  const results = [];
  for (let i = 0; i < 10; i++) results.push({ title: `${query} result ${i}`, url: `/doc/${searches}/${i}`, score: 1 / (i + 1) });
  return results;
}

document.getElementById('search').addEventListener('click', () => {
  const query = `${input.value || 'shoes'}|sort=price|t=${++searches}`;
  let results = window.searchResultsCache.get(query);
  if (!results) {
    results = runSearch(query);
    window.searchResultsCache.set(query, results);
  }
  resultsList.innerHTML = results.map((r) => `<li><a href="${r.url}">${r.title}</a></li>`).join('');
});
