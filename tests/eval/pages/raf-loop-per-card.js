// Upload panel: each upload card animates its progress bar with a requestAnimationFrame
// loop. Dismissing a card removes it from the page, but its loop is never cancelled, so
// every dismissed card keeps re-scheduling a frame callback that holds its elements.
'use strict';
const uploads = document.getElementById('uploads');
let started = 0;

function startUpload() {
  const card = document.createElement('div');
  card.className = 'upload-card';
  card.innerHTML = `<span class="name">file-${++started}.zip</span><div class="track"><div class="bar"></div></div><small class="eta">estimating</small>`;
  uploads.appendChild(card);
  const bar = card.querySelector('.bar');
  const eta = card.querySelector('.eta');
  const t0 = performance.now();
  const step = (now) => {
    const pct = Math.min(100, (now - t0) / 50);
    bar.style.width = `${pct}%`;
    eta.textContent = pct < 100 ? `${Math.round((100 - pct) / 2)} s left` : 'done';
    requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
}

function dismissOldest() {
  const first = uploads.firstElementChild;
  if (first) first.remove();
}

document.getElementById('start-upload').addEventListener('click', startUpload);
document.getElementById('dismiss').addEventListener('click', dismissOldest);
