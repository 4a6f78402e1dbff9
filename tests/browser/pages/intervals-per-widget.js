// Dashboard widgets: each widget polls its data source once a minute. Removing a widget
// removes its element but forgets to clear its interval, so the timers (and the state each
// one updates) pile up.
'use strict';
const area = document.getElementById('widgets');
let nextWidgetId = 0;

function mountWidget() {
  const id = `widget-${++nextWidgetId}`;
  const state = { id, source: `/api/metrics/${nextWidgetId % 12}`, samples: [], lastValue: null };
  const el = document.createElement('div');
  el.id = id;
  el.className = 'widget';
  el.textContent = 'loading';
  area.appendChild(el);
  setInterval(function pollWidgetData() {
    state.lastValue = Math.random();
    state.samples.push(state.lastValue);
    const node = document.getElementById(state.id);
    if (node) node.textContent = state.lastValue.toFixed(2);
  }, 60000);
}

function unmountOldestWidget() {
  const first = area.firstElementChild;
  if (first) first.remove();
}

document.getElementById('add').addEventListener('click', mountWidget);
document.getElementById('remove').addEventListener('click', unmountOldestWidget);
