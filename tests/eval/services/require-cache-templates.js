// E-mail preview service (plain http). Tenants customise their e-mail templates; a preview
// compiles the tenant's template into a small CommonJS module on disk (named by the hash of
// its text, so a changed template gets a new file) and loads it with require(). Every
// template revision (and the revision counter changes on every edit) is a new module that
// stays in require.cache for the life of the process.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');

const compiledDir = path.join(process.cwd(), '.compiled-templates');
fs.mkdirSync(compiledDir, { recursive: true });

function compileTemplate(text) {
  const parts = text.split(/(\{\{\s*\w+\s*\}\})/);
  const body = parts
    .map((p) => {
      const m = /^\{\{\s*(\w+)\s*\}\}$/.exec(p);
      return m ? `esc(data[${JSON.stringify(m[1])}])` : JSON.stringify(p);
    })
    .join(' + ');
  return `'use strict';\nconst esc = (v) => String(v == null ? '' : v).replace(/[&<>]/g, (c) => '&#' + c.charCodeAt(0) + ';');\nconst source = ${JSON.stringify(text)};\nmodule.exports = function render(data) { return ${body}; };\nmodule.exports.source = source;\n`;
}

function loadTemplate(text) {
  const hash = crypto.createHash('sha1').update(text).digest('hex');
  const file = path.join(compiledDir, `${hash}.js`);
  if (!fs.existsSync(file)) fs.writeFileSync(file, compileTemplate(text));
  return require(file);
}

function tenantTemplate(tenant, revision) {
  const footer = `Sent by ${tenant}. Revision ${revision}. `.repeat(20);
  return `<h1>Hello {{name}}</h1><p>Your order {{order}} from ${tenant} has shipped.</p><footer>${footer}</footer>`;
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const m = /^\/preview\/([\w-]+)$/.exec(url.pathname);
  if (!m) {
    res.writeHead(404);
    res.end();
    return;
  }
  const render = loadTemplate(tenantTemplate(m[1], url.searchParams.get('rev') || '1'));
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end(render({ name: url.searchParams.get('name') || 'customer', order: url.searchParams.get('order') || '0' }));
});

server.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
