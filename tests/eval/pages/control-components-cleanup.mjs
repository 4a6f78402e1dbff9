// Control (ES module): components that clean up after themselves. Each mounted component
// observes the board with a MutationObserver, runs a requestAnimationFrame loop and
// subscribes to a store; unmount disconnects, cancels and unsubscribes. The router keeps
// only the last three views for "Back".
function createStore(state) {
  const listeners = new Set();
  return {
    get: () => state,
    set(next) { state = next; for (const l of [...listeners]) l(); },
    subscribe(l) { listeners.add(l); return () => listeners.delete(l); },
  };
}

const store = createStore({ theme: 'light' });
const board = document.getElementById('board');
const outlet = document.getElementById('outlet');
const mounted = [];
let seq = 0;

function mount() {
  const el = document.createElement('div');
  el.className = 'component';
  el.innerHTML = `<b>Component ${++seq}</b><div class="bar"></div><span class="pos"></span><ul>${'<li>row</li>'.repeat(6)}</ul>`;
  board.appendChild(el);
  const observer = new MutationObserver(() => {
    el.querySelector('.pos').textContent = String(Array.prototype.indexOf.call(board.children, el));
  });
  observer.observe(board, { childList: true });
  let frame = 0;
  const step = (now) => {
    el.querySelector('.bar').style.width = `${(now / 10) % 100}%`;
    frame = requestAnimationFrame(step);
  };
  frame = requestAnimationFrame(step);
  const unsubscribe = store.subscribe(() => { el.dataset.theme = store.get().theme; });
  mounted.push(() => {
    observer.disconnect();
    cancelAnimationFrame(frame);
    unsubscribe();
    el.remove();
  });
}

function unmount() {
  const dispose = mounted.shift();
  if (dispose) dispose();
}

const recentViews = [];
function navigate() {
  const current = outlet.firstElementChild;
  if (current) {
    recentViews.push(current);
    if (recentViews.length > 3) recentViews.shift();
    current.remove();
  }
  const view = document.createElement('section');
  view.innerHTML = `<h2>View ${++seq}</h2><table>${'<tr><td>a</td><td>b</td></tr>'.repeat(8)}</table>`;
  outlet.appendChild(view);
  store.set({ theme: seq % 2 ? 'dark' : 'light' });
}

document.getElementById('mount').addEventListener('click', mount);
document.getElementById('unmount').addEventListener('click', unmount);
document.getElementById('navigate').addEventListener('click', navigate);
