// Feature-flag aware API (koa). Each request gets a RequestContext that re-reads feature
// flags when the configuration changes, by subscribing a bound method to the app-wide
// config emitter in its constructor. There is no matching unsubscribe when the request ends,
// so every RequestContext (and the koa context it holds) stays subscribed forever.
'use strict';
const Koa = require('koa');
const { EventEmitter } = require('events');

const configEvents = new EventEmitter();
configEvents.setMaxListeners(0);
let flags = { newCheckout: false, darkMode: true };

class RequestContext {
  constructor(ctx) {
    this.ctx = ctx;
    this.flags = { ...flags };
    this.startedAt = process.hrtime.bigint();
    configEvents.on('config-changed', this.onConfigChanged.bind(this));
  }

  onConfigChanged(next) {
    this.flags = { ...next };
  }
}

const app = new Koa();

app.use(async (ctx) => {
  if (ctx.path === '/admin/flags' && ctx.method === 'POST') {
    flags = { ...flags, newCheckout: !flags.newCheckout };
    configEvents.emit('config-changed', flags);
    ctx.body = flags;
    return;
  }
  const rc = new RequestContext(ctx);
  ctx.body = { path: ctx.path, checkout: rc.flags.newCheckout ? 'v2' : 'v1', user: ctx.get('x-user') };
});

const server = app.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
