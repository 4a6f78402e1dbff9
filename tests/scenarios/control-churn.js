// Control: heavy allocation per request (parse, transform, serialize) with nothing kept.
'use strict';
const { runScenario } = require('./harness');

const totals = { requests: 0, bytes: 0 };

function handleReport(n) {
  const rows = [];
  for (let i = 0; i < 40; i++) rows.push({ id: n * 40 + i, label: `row-${n}-${i}`, values: [i, i * 2, i * 3] });
  const json = JSON.stringify({ report: n, rows });
  const parsed = JSON.parse(json);
  const summary = parsed.rows.map((r) => `${r.label}:${r.values.reduce((a, b) => a + b, 0)}`).join(',');
  totals.requests++;
  totals.bytes += summary.length;
  return summary.length;
}

module.exports = { handleReport };

runScenario({
  request: handleReport,
});
