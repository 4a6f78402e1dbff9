// Editor tabs: closing a tab keeps its view so that "reopen closed tab" is instant. The map
// of closed tab views is never pruned, so every closed tab's DOM stays in memory.
'use strict';
const tabsArea = document.getElementById('tabs');
const closedTabViews = new Map();
let tabCount = 0;

function openTab() {
  const id = ++tabCount;
  const view = document.createElement('article');
  view.className = 'tab-view';
  view.dataset.tab = String(id);
  view.innerHTML = `<h2>file-${id}.txt</h2><pre>${'line\n'.repeat(8)}</pre><footer>saved</footer>`;
  tabsArea.appendChild(view);
}

function closeTab() {
  const view = tabsArea.firstElementChild;
  if (!view) return;
  view.remove();
  closedTabViews.set(Number(view.dataset.tab), view);
}

document.getElementById('open-tab').addEventListener('click', openTab);
document.getElementById('close-tab').addEventListener('click', closeTab);
