// Control: per-request metadata kept in a module-level WeakMap keyed by the request object.
// When a request is done nothing else references it, so its entry goes with it.
'use strict';
const { runScenario } = require('./harness');

const requestMetadata = new WeakMap();

function attachMetadata(request) {
  requestMetadata.set(request, { traceId: `trace-${request.id}`, startedAt: Date.now(), tags: ['api', request.method] });
}

function handleRequest(n) {
  const request = { id: n, method: n % 2 ? 'GET' : 'PUT', url: `/items/${n}` };
  attachMetadata(request);
  const meta = requestMetadata.get(request);
  return meta.traceId.length + request.url.length;
}

module.exports = { handleRequest };

runScenario({
  request: handleRequest,
});
