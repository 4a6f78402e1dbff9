// HTTP load over loopback: a fixed number of requests from request templates, with a fixed
// concurrency over keep-alive connections, like a load tool (autocannon, k6) would send them.
// Also "slow" requests whose body is held back, so that their handlers are mid-flight.
'use strict';
const http = require('http');

/**
 * Expands a request template for request number `i`: in path, headers and body, `{i}` is
 * the number and `{i%K}` the number modulo K.
 */
function expand(template, i) {
  const sub = (s) => String(s).replace(/\{i(?:%(\d+))?\}/g, (_, k) => String(k ? i % Number(k) : i));
  const headers = {};
  for (const [k, v] of Object.entries(template.headers || {})) headers[k] = sub(v);
  return {
    method: template.method || 'GET',
    path: sub(template.path || '/'),
    headers,
    body: template.body === undefined ? undefined : sub(typeof template.body === 'string' ? template.body : JSON.stringify(template.body)),
  };
}

/**
 * One request; resolves with { status, headers, text }. A request sent on a reused
 * keep-alive socket that the server had just closed (its keepAliveTimeout ran out while the
 * service was busy writing a snapshot) fails with ECONNRESET / "socket hang up" before any
 * answer: it is sent again, as Node's documentation advises.
 */
async function request(port, req, agent) {
  // Every idle socket of the pool may have been closed at once: the next one handed out can
  // be stale too, so retry while the failure is on a reused socket (at most one per pooled
  // socket, then one fresh).
  const tries = (agent && agent.maxSockets !== Infinity ? agent.maxSockets : 8) + 1;
  for (let k = 1; ; k++) {
    try {
      return await requestOnce(port, req, agent);
    } catch (err) {
      if (k >= tries || !err.reusedSocket || !['ECONNRESET', 'EPIPE'].includes(err.code)) throw err;
    }
  }
}

function requestOnce(port, req, agent) {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers };
    if (req.body !== undefined) {
      headers['content-length'] = Buffer.byteLength(req.body);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    }
    const r = http.request({ host: '127.0.0.1', port, method: req.method, path: req.path, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
      res.on('error', reject);
    });
    r.on('error', (err) => {
      err.reusedSocket = r.reusedSocket;
      reject(err);
    });
    r.end(req.body);
  });
}

class Load {
  /** `templates`: list of request templates used in turn (request i uses templates[i % n]). */
  constructor(port, concurrency) {
    this.port = port;
    this.concurrency = Math.max(1, concurrency || 1);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: this.concurrency });
    this.sent = 0;
    this.errors = [];
  }

  /**
   * Sends requests `first .. first+count-1` with the templates; resolves when all answered.
   * With `noWaitTail`, resolves as soon as the last request is sent (the tail is in flight)
   * and returns the promise of the tail.
   */
  async burst(templates, first, count, { noWaitTail = false } = {}) {
    let next = first;
    const end = first + count;
    const one = async () => {
      while (next < end) {
        const i = next++;
        const req = expand(templates[i % templates.length], i);
        const res = await request(this.port, req, this.agent);
        this.sent++;
        if (res.status >= 400 && this.errors.length < 5) this.errors.push(`${req.method} ${req.path}: HTTP ${res.status} ${res.text.slice(0, 300)}`);
      }
    };
    const workers = [];
    for (let w = 0; w < Math.min(this.concurrency, count); w++) workers.push(one());
    const all = Promise.all(workers);
    if (!noWaitTail) {
      await all;
      return null;
    }
    // Wait until every request has been handed out: the last `concurrency` are in flight.
    while (next < end) await new Promise((r) => setImmediate(r));
    return all;
  }

  /**
   * Starts a request with its headers and half its body sent; returns { finish() } which
   * sends the rest and resolves with the answer. Its handler waits for the body meanwhile.
   */
  slow(template, i) {
    const req = expand(template, i);
    const body = req.body === undefined ? '{}' : req.body;
    const headers = { ...req.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    let resolveAnswer;
    let rejectAnswer;
    const answer = new Promise((resolve, reject) => { resolveAnswer = resolve; rejectAnswer = reject; });
    const r = http.request({ host: '127.0.0.1', port: this.port, method: req.method === 'GET' ? 'POST' : req.method, path: req.path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolveAnswer({ status: res.statusCode, text }));
    });
    r.on('error', rejectAnswer);
    const half = Math.max(1, Math.floor(body.length / 2));
    r.write(body.slice(0, half));
    return {
      finish: () => {
        r.end(body.slice(half));
        return answer;
      },
    };
  }

  close() {
    this.agent.destroy();
  }
}

module.exports = { Load, request, expand };
