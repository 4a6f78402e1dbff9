// Payments API (fastify, CommonJS). To debug a rare bug, someone added a "replay" hook that
// keeps the raw body of every POST as a Buffer in a global array, to be dumped on demand.
// The TODO to cap it was never done: every request body stays in memory.
'use strict';
const fastify = require('fastify');
const v8 = require('v8');

globalThis.__replayBodies = [];

const app = fastify({ logger: false });

app.addHook('preParsing', async (request, reply, payload) => {
  const chunks = [];
  for await (const chunk of payload) chunks.push(chunk);
  const raw = Buffer.concat(chunks);
  if (request.url !== '/debug/heapdump') {
    // TODO: cap this once the bug is found
    globalThis.__replayBodies.push({ at: Date.now(), url: request.url, raw });
  }
  const { Readable } = require('stream');
  const copy = Readable.from([raw]);
  copy.receivedEncodedLength = raw.length;
  return copy;
});

app.post('/payments', async (request) => {
  const { amount, currency, card } = request.body;
  return { id: `pay_${Date.now().toString(36)}`, amount, currency, last4: String(card || '').slice(-4), status: 'authorized' };
});

app.post('/debug/heapdump', async () => ({ file: v8.writeHeapSnapshot() }));

app.listen({ port: Number(process.env.PORT) || 0, host: '127.0.0.1' }).then(() => {
  console.log(`listening on http://127.0.0.1:${app.server.address().port}`);
});
