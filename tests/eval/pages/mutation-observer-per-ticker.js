// Trading board: each ticker widget shows its own position on the board, kept up to date by
// a MutationObserver on the board's children. Removing a ticker removes its element but
// never disconnects its observer; the board keeps the observer, the observer's callback
// keeps the removed ticker element.
'use strict';
const board = document.getElementById('board');
let tickers = 0;

function mountTicker() {
  const symbol = `SYM${++tickers}`;
  const el = document.createElement('div');
  el.className = 'ticker';
  el.innerHTML = `<b>${symbol}</b> <span class="price">100.00</span> <span class="rank"></span><ul>${'<li>tick</li>'.repeat(6)}</ul>`;
  board.appendChild(el);
  const observer = new MutationObserver(() => {
    el.querySelector('.rank').textContent = `#${Array.prototype.indexOf.call(board.children, el) + 1}`;
  });
  observer.observe(board, { childList: true });
}

function removeOldest() {
  const first = board.firstElementChild;
  if (first) first.remove();
}

document.getElementById('add-ticker').addEventListener('click', mountTicker);
document.getElementById('remove-ticker').addEventListener('click', removeOldest);
