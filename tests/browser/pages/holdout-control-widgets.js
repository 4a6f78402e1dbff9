// Control: widgets poll with an interval and listen to window resizes; unmounting clears the
// interval and aborts the listeners, and removes the element.
'use strict';
const area = document.getElementById('widgets');
const mounted = [];
let nextId = 0;

function mount() {
  const el = document.createElement('div');
  el.className = 'widget';
  el.textContent = `widget ${++nextId}`;
  area.appendChild(el);
  const controller = new AbortController();
  window.addEventListener('resize', () => { el.style.width = `${window.innerWidth / 4}px`; }, { signal: controller.signal });
  const timer = setInterval(() => { el.textContent = String(Math.random()); }, 60000);
  mounted.push({ el, controller, timer });
}

function unmount() {
  const w = mounted.shift();
  if (!w) return;
  clearInterval(w.timer);
  w.controller.abort();
  w.el.remove();
}

document.getElementById('add').addEventListener('click', mount);
document.getElementById('remove').addEventListener('click', unmount);
