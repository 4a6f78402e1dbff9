// Sales chart: "Refresh" re-renders the chart from new data. Each render subscribes a resize
// handler to the window so the chart fits its container, but the old handler is never
// removed, so the window keeps one handler (and its chart model) per render.
'use strict';
const container = document.getElementById('chart');
let renders = 0;

function buildModel(seed) {
  const points = [];
  for (let i = 0; i < 120; i++) points.push({ x: i, y: Math.round(50 + 40 * Math.sin((i + seed) / 9)) });
  return { title: `Sales #${seed}`, points, width: container.clientWidth || 600 };
}

function renderChart(model) {
  const svgPoints = model.points.map((p) => `${p.x * 5},${100 - p.y}`).join(' ');
  container.innerHTML = `<h3>${model.title}</h3><svg width="600" height="100"><polyline points="${svgPoints}"/></svg>`;
  window.addEventListener('resize', function fitChartToWindow() {
    model.width = window.innerWidth - 40;
  });
}

document.getElementById('refresh').addEventListener('click', () => {
  renderChart(buildModel(++renders));
});
