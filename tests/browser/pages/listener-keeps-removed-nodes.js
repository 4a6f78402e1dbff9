// Dashboard panels: each opened panel registers itself with the toolbar's "Refresh all"
// button. Closing a panel removes it from the page but not its click handler, and the
// handler holds the panel's element, so every closed panel stays in memory, detached.
'use strict';
const panels = document.getElementById('panels');
const refreshAll = document.getElementById('refresh-all');
let opened = 0;

function openPanel() {
  const panel = document.createElement('section');
  panel.className = 'panel';
  panel.innerHTML = `<header><h4>Panel ${++opened}</h4><button>x</button></header><div class="body"><table><tr><td>cpu</td><td>0%</td></tr><tr><td>mem</td><td>0 MB</td></tr></table></div>`;
  panels.appendChild(panel);
  refreshAll.addEventListener('click', function refreshPanel() {
    panel.querySelector('.body td:last-child').textContent = `${Math.round(Math.random() * 100)}%`;
  });
}

function closePanel() {
  const first = panels.firstElementChild;
  if (first) first.remove();
}

document.getElementById('open').addEventListener('click', openPanel);
document.getElementById('close').addEventListener('click', closePanel);
