// Chat backend (express 5) with long polling: GET /poll/:room waits for the next message of
// that room. The handler subscribes with on() where once() (or off() after delivery) was
// meant: after the response is sent, the listener stays on the bus, holding that request
// and response, and one more is added by every poll.
'use strict';
const express = require('express');
const { EventEmitter } = require('events');

class MessageBus extends EventEmitter {
  publish(room, text) {
    this.emit('message', { room, text, at: Date.now() });
  }
}

const bus = new MessageBus();
bus.setMaxListeners(0);

let n = 0;
setInterval(() => bus.publish(`room-${n++ % 4}`, `message ${n}`), 4).unref();

const app = express();

app.get('/poll/:room', (req, res) => {
  const room = req.params.room;
  bus.on('message', function deliver(msg) {
    if (msg.room === room && !res.headersSent) res.json(msg);
  });
});

app.get('/', (req, res) => res.send('ok'));

const server = app.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
