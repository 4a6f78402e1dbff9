// Control: axios calls to the rates API through one keep-alive Agent for the whole process,
// with at most 8 sockets, so connections are reused and their number stays bounded.
'use strict';
const http = require('http');
const v8 = require('v8');
const express = require('express');
const axios = require('axios');

const app = express();
app.use(express.json());
const ratesApi = axios.create({ baseURL: process.env.UPSTREAM_URL, httpAgent: new http.Agent({ keepAlive: true, maxSockets: 8 }) });

app.post('/convert', async (req, res) => {
  try {
    const { data } = await ratesApi.get(`/rates/${req.body.ccy}`);
    res.json({ ccy: req.body.ccy, amount: Number(req.body.amount) * data.rate });
  } catch (err) {
    res.status(502).json({ error: err.message });
  }
});

app.post('/debug/heapdump', (req, res) => {
  res.json({ file: v8.writeHeapSnapshot() });
});

const server = app.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
