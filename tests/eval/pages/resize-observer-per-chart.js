// Analytics grid: each chart redraws when its container changes size, through a
// ResizeObserver created per chart and observing the grid. Removing a chart removes its
// element but never disconnects its observer: the grid keeps every observer, and each
// observer's callback keeps its removed chart (canvas, legend, data points).
'use strict';
const grid = document.getElementById('grid');
let charts = 0;

function addChart() {
  const chart = document.createElement('figure');
  chart.className = 'chart';
  chart.innerHTML = `<canvas width="160" height="80"></canvas><figcaption>Chart ${++charts}</figcaption><ol class="legend">${'<li>series</li>'.repeat(5)}</ol>`;
  grid.appendChild(chart);
  const points = Array.from({ length: 64 }, (_, k) => Math.sin(k / 5) * 40 + 40);
  const observer = new ResizeObserver((entries) => {
    const width = entries[0].contentRect.width;
    const ctx = chart.querySelector('canvas').getContext('2d');
    ctx.clearRect(0, 0, width, 80);
    points.forEach((y, x) => ctx.fillRect((x * width) / points.length, y, 2, 2));
  });
  observer.observe(grid);
}

function removeOldest() {
  const first = grid.firstElementChild;
  if (first) first.remove();
}

document.getElementById('add-chart').addEventListener('click', addChart);
document.getElementById('remove-chart').addEventListener('click', removeOldest);
