// Currency conversion through the rates API with axios. Someone turned on keep-alive to
// save handshakes, but creates the Agent inside the handler: every request gets its own
// agent, whose idle socket stays open (the upstream keeps connections for ten minutes).
'use strict';
const http = require('http');
const express = require('express');
const axios = require('axios');

const app = express();
const RATES_URL = process.env.UPSTREAM_URL;

app.get('/convert/:ccy/:amount', async (req, res) => {
  try {
    const { data } = await axios.get(`${RATES_URL}/rates/${req.params.ccy}`, { httpAgent: new http.Agent({ keepAlive: true }) });
    res.json({ ccy: req.params.ccy, amount: Number(req.params.amount) * data.rate });
  } catch (err) {
    res.status(502).json({ error: err.message });
  }
});

const server = app.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
