// Request logging with winston: a middleware builds a logger for each request so that
// every line carries the request id, and asks winston to log uncaught exceptions. Each
// logger registers its own process 'uncaughtException' handler and is never closed.
'use strict';
const express = require('express');
const winston = require('winston');

const app = express();
let requestCounter = 0;

app.use((req, res, next) => {
  req.log = winston.createLogger({ level: 'warn', defaultMeta: { requestId: `req-${++requestCounter}` }, transports: [new winston.transports.Console({ handleExceptions: true })] });
  next();
});

app.get('/orders/:id', (req, res) => {
  req.log.info('order lookup', { id: req.params.id });
  res.json({ id: req.params.id, status: 'shipped' });
});

const server = app.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
