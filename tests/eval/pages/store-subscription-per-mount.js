// Shop front end with a small Redux-like store. Every product panel subscribes to the store
// to keep its "in cart" badge current. Closing a panel removes its element but never calls
// the unsubscribe function subscribe() returned, so the store keeps one listener per panel
// ever opened, and each listener keeps its closed panel.
'use strict';

function createStore(reducer, state) {
  const listeners = [];
  return {
    getState: () => state,
    dispatch(action) {
      state = reducer(state, action);
      for (const l of listeners.slice()) l();
    },
    subscribe(listener) {
      listeners.push(listener);
      return () => {
        const i = listeners.indexOf(listener);
        if (i >= 0) listeners.splice(i, 1);
      };
    },
  };
}

const store = createStore((s, a) => (a.type === 'add' ? { ...s, cart: [...s.cart, a.sku] } : s), { cart: [] });
const slot = document.getElementById('product-slot');
let productSeq = 0;

function openProduct() {
  const sku = `P-${++productSeq}`;
  const panel = document.createElement('article');
  panel.className = 'product-panel';
  panel.innerHTML = `<h3>${sku}</h3><img alt=""><p>${'A very nice product. '.repeat(5)}</p><span class="badge"></span><ul class="specs">${'<li>spec</li>'.repeat(5)}</ul>`;
  slot.replaceChildren(panel);
  const badge = panel.querySelector('.badge');
  store.subscribe(() => {
    badge.textContent = store.getState().cart.includes(sku) ? 'in cart' : '';
  });
}

function closeProduct() {
  slot.replaceChildren();
}

document.getElementById('open-product').addEventListener('click', openProduct);
document.getElementById('close-product').addEventListener('click', closeProduct);
document.getElementById('add-to-cart').addEventListener('click', () => store.dispatch({ type: 'add', sku: `P-${productSeq}` }));
