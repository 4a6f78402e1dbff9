// Control: one winston logger for the process (which handles uncaught exceptions once), and a
// cheap child logger per request for the request id.
'use strict';
const express = require('express');
const winston = require('winston');

const app = express();
const logger = winston.createLogger({ level: 'warn', transports: [new winston.transports.Console({ handleExceptions: true })] });
let requestCounter = 0;

app.use((req, res, next) => {
  req.log = logger.child({ requestId: `req-${++requestCounter}` });
  next();
});

app.get('/orders/:id', (req, res) => {
  req.log.info('order lookup', { id: req.params.id });
  res.json({ id: req.params.id, status: 'shipped' });
});

const server = app.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
