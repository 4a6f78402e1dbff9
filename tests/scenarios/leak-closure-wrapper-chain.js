// Request tracing that is (re)installed on every sampled request by wrapping the current
// handler. `describeSample` needs the captured request, so the captured request lives in
// the context shared with `tracedHandler`, which only needs `previous`. Each wrapper keeps
// the previous wrapper and its sample alive: a chain of closures and contexts.
'use strict';
const { runScenario } = require('./harness');

let activeHandler = function baseHandler(req) {
  return req.path.length;
};
const tracingStats = { installs: 0, lastSampleBytes: 0 };

function installTracing(sampledRequest) {
  const previous = activeHandler;
  const capturedRequest = {
    path: sampledRequest.path,
    headers: { 'user-agent': 'probe/1.0', 'x-request-id': sampledRequest.id },
    body: `{"items":[${sampledRequest.id}],"note":"${'x'.repeat(120)}"}`,
  };
  const describeSample = () => capturedRequest.body.length + capturedRequest.path.length;
  activeHandler = function tracedHandler(req) {
    return previous(req);
  };
  tracingStats.installs++;
  tracingStats.lastSampleBytes = describeSample();
}

function handleSampledRequest(n) {
  installTracing({ id: `r${n}`, path: `/v2/carts/${n}` });
}

module.exports = { handleSampledRequest, currentHandler: () => activeHandler };

runScenario({
  request: handleSampledRequest,
  iterations: 1000,
  warmupIterations: 100,
  exitAfter: true,
});
