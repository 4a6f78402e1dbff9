// Control: each request subscribes to the shared bus while it is in flight and
// unsubscribes when it completes (removeListener), plus a `once` listener that does fire.
'use strict';
const { EventEmitter } = require('events');
const { runScenario } = require('./harness');

const orderEvents = new EventEmitter();
let cancellations = 0;

function processOrder(orderId) {
  const state = { orderId, cancelled: false, lines: [orderId * 2, orderId * 3] };
  const onCancel = function onOrderCancelled(cancelledId) {
    if (cancelledId === orderId) state.cancelled = true;
  };
  orderEvents.on('cancel', onCancel);
  orderEvents.once('audit', function recordAudit() {
    state.audited = true;
  });
  try {
    if (orderId % 9 === 0) orderEvents.emit('cancel', orderId);
    orderEvents.emit('audit');
    if (state.cancelled) cancellations++;
    return state.lines.length;
  } finally {
    orderEvents.removeListener('cancel', onCancel);
  }
}

module.exports = { processOrder };

runScenario({
  request: processOrder,
});
