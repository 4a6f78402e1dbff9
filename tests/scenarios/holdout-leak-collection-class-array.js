// Tracing: each request records a span, and finished spans are kept for the exporter.
// The exporter was never started in this deployment, so the tracer's buffer of finished
// spans only grows.
'use strict';
const { runScenario } = require('./harness');

class Tracer {
  constructor(serviceName) {
    this.serviceName = serviceName;
    this.finishedSpans = [];
    this.exporter = null;
  }

  startSpan(name, attributes) {
    return { name, attributes, start: process.hrtime.bigint(), end: null };
  }

  endSpan(span) {
    span.end = process.hrtime.bigint();
    this.finishedSpans.push(span);
    if (this.exporter) this.exporter.flush(this.finishedSpans.splice(0));
  }
}

const tracer = new Tracer('checkout');

function handleCartView(n) {
  const span = tracer.startSpan('GET /cart', { 'http.route': '/cart/:id', 'cart.id': `c-${n}`, 'user.tier': n % 3 ? 'free' : 'pro' });
  const total = (n * 31) % 997;
  tracer.endSpan(span);
  return total;
}

module.exports = { handleCartView };

runScenario({
  request: handleCartView,
  exitAfter: true,
});
