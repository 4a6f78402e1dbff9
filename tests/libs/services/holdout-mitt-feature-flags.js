// Feature flags pushed through a mitt event bus, on plain http. Each request that renders a
// dashboard listens for flag changes to re-render, and never calls off().
'use strict';
const http = require('http');
const v8 = require('v8');
const mitt = require('mitt');

const flagEvents = mitt();
let flags = { newNav: false, darkCharts: true };
let rendered = 0;

function renderDashboard(userId) {
  const dashboard = { userId, widgets: ['sales', 'traffic', 'errors'], nav: flags.newNav ? 'new' : 'classic' };
  flagEvents.on('flags-changed', (next) => {
    dashboard.nav = next.newNav ? 'new' : 'classic';
  });
  return dashboard;
}

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/debug/heapdump') {
    const body = JSON.stringify({ file: v8.writeHeapSnapshot() });
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    return;
  }
  const match = /^\/dashboard\/(\d+)$/.exec(req.url);
  if (!match) {
    res.writeHead(404).end();
    return;
  }
  const dashboard = renderDashboard(Number(match[1]));
  if (++rendered % 500 === 0) {
    flags = { ...flags, newNav: !flags.newNav };
    flagEvents.emit('flags-changed', flags);
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(dashboard));
});

server.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
