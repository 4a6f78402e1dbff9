// Multi-tenant reports: the report route of a tenant is registered the first time the
// tenant's status page is asked for... except that it is registered on every status request,
// so express's router stack grows by one route per request.
'use strict';
const express = require('express');

const app = express();
const tenants = new Map();

function reportFor(tenant) {
  return { tenant, generatedAt: Date.now(), rows: (tenants.get(tenant) || 0) % 100 };
}

app.get('/t/:tenant/status', (req, res) => {
  const tenant = req.params.tenant;
  tenants.set(tenant, (tenants.get(tenant) || 0) + 1);
  app.get(`/t/${tenant}/report`, (rreq, rres) => rres.json(reportFor(tenant)));
  res.json({ tenant, ok: true });
});

const server = app.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
