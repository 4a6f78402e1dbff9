// Back-office single-page app (ES module, hand-rolled router). To make "Back" instant, the
// router keeps the element of every view it leaves, keyed by its route, and puts it back
// when that route is visited again. Routes carry the order id, so almost none is visited
// twice, and the kept views (each a detached subtree with its table) pile up.
const outlet = document.getElementById('outlet');
const renderedViews = {};
const visited = [];
let orderId = 1000;

function orderView(route, id) {
  const view = document.createElement('section');
  view.className = 'view order-detail';
  view.dataset.route = route;
  const rows = Array.from({ length: 8 }, (_, k) => `<tr><td>SKU-${id}-${k}</td><td>${k + 1}</td><td>${(k * 3.5).toFixed(2)}</td></tr>`).join('');
  view.innerHTML = `<h2>Order #${id}</h2><p class="status">shipped</p><table><thead><tr><th>SKU</th><th>Qty</th><th>Price</th></tr></thead><tbody>${rows}</tbody></table>`;
  return view;
}

function navigate(route) {
  const current = outlet.firstElementChild;
  if (current) {
    renderedViews[current.dataset.route] = current;
    current.remove();
  }
  history.pushState({ route }, '', `#${route}`);
  visited.push(route);
  const id = Number(route.split('/').pop());
  outlet.appendChild(renderedViews[route] || orderView(route, id));
}

document.getElementById('next-order').addEventListener('click', () => navigate(`/orders/${++orderId}`));
document.getElementById('back').addEventListener('click', () => {
  visited.pop();
  const previous = visited.pop();
  if (previous) navigate(previous);
});
navigate(`/orders/${orderId}`);
