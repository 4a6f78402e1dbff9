// Webhook delivery: when the receiver rejects a delivery, it is retried ten minutes later.
// Every delivery to the (always failing) partner endpoint schedules a retry, and each
// pending retry timer keeps its payload until it fires, long after the test is over.
'use strict';
const { runScenario } = require('./harness');

const RETRY_DELAY_MS = 10 * 60 * 1000;
const deliveryStats = { attempted: 0, failed: 0 };

function postToPartner(payload) {
  deliveryStats.attempted++;
  return payload.partner === 'acme' ? 503 : 200;
}

function deliverWebhook(payload) {
  const status = postToPartner(payload);
  if (status >= 500) {
    deliveryStats.failed++;
    setTimeout(function retryWebhookDelivery() {
      deliverWebhook(payload);
    }, RETRY_DELAY_MS);
  }
}

function handleOrderEvent(n) {
  const payload = { partner: n % 3 === 0 ? 'globex' : 'acme', event: 'order.paid', orderId: `ord-${n}`, body: `{"id":${n},"total":${n % 900}}` };
  deliverWebhook(payload);
}

module.exports = { handleOrderEvent };

runScenario({
  request: handleOrderEvent,
  exitAfter: true,
});
