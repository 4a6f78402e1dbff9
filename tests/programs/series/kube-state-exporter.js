// Serves kube-state-metrics' container status families in the Prometheus text format on
// 127.0.0.1:PORT, as the real kube-state-metrics shows them to Prometheus: a container that
// is OOM-killed and restarted at RESTART_AT_S seconds after start (restart counter 2 -> 3,
// last terminated reason OOMKilled from then on), and a healthy container (counter 0).
// Usage: PORT=9465 RESTART_AT_S=20 node kube-state-exporter.js
'use strict';
const http = require('http');

const port = Number(process.env.PORT || 9465);
const restartAt = Number(process.env.RESTART_AT_S || 20) * 1000;
const t0 = Date.now();

function body() {
  const restarted = Date.now() - t0 >= restartAt;
  const api = { namespace: 'shop', pod: 'api-7d9f8b6c5-x2x4q', container: 'api', uid: 'f0e1d2c3' };
  const web = { namespace: 'shop', pod: 'web-5c8d7f9b4-k8m2n', container: 'web', uid: 'a1b2c3d4' };
  const l = (o, extra = {}) =>
    '{' + Object.entries({ ...o, ...extra }).map(([k, v]) => `${k}="${v}"`).join(',') + '}';
  const lines = [
    '# HELP kube_pod_container_status_restarts_total The number of container restarts per container.',
    '# TYPE kube_pod_container_status_restarts_total counter',
    `kube_pod_container_status_restarts_total${l(api)} ${restarted ? 3 : 2}`,
    `kube_pod_container_status_restarts_total${l(web)} 0`,
    '# HELP kube_pod_container_status_last_terminated_reason Describes the last reason the container was in terminated state.',
    '# TYPE kube_pod_container_status_last_terminated_reason gauge',
  ];
  // Before the restart the api container's last termination was an error exit.
  for (const reason of ['OOMKilled', 'Error', 'Completed', 'ContainerCannotRun', 'DeadlineExceeded', 'Evicted']) {
    const v = restarted ? (reason === 'OOMKilled' ? 1 : 0) : (reason === 'Error' ? 1 : 0);
    lines.push(`kube_pod_container_status_last_terminated_reason${l(api, { reason })} ${v}`);
  }
  return lines.join('\n') + '\n';
}

http.createServer((req, res) => {
  if (req.url === '/metrics') {
    res.setHeader('Content-Type', 'text/plain; version=0.0.4; charset=utf-8');
    res.end(body());
  } else {
    res.statusCode = 404;
    res.end('not found\n');
  }
}).listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`));
