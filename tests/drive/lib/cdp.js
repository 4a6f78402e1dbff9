// A minimal Chrome DevTools Protocol client over WebSocket (npm `ws`), as an external tool
// speaks it to `node --inspect` or to Chromium's --remote-debugging-port: commands with ids,
// events by method name, flat sessions (sessionId) for page targets, and heap snapshots whose
// chunks are streamed to a file as they arrive.
'use strict';
const fs = require('fs');
const WebSocket = require('ws');

class Cdp {
  constructor(ws) {
    this.ws = ws;
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = new Map();
    ws.on('message', (data) => this.onMessage(data));
    ws.on('close', () => {
      for (const { reject, method } of this.pending.values()) reject(new Error(`CDP connection closed during ${method}`));
      this.pending.clear();
    });
  }

  static connect(url) {
    return new Promise((resolve, reject) => {
      // Heap snapshot chunks and Runtime.evaluate results can be large.
      const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 30 });
      ws.once('open', () => resolve(new Cdp(ws)));
      ws.once('error', reject);
    });
  }

  onMessage(data) {
    const msg = JSON.parse(data.toString());
    if (msg.id !== undefined) {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message} ${msg.error.data || ''}`));
      else p.resolve(msg.result);
      return;
    }
    const key = msg.sessionId ? `${msg.sessionId}:${msg.method}` : msg.method;
    for (const k of [key, msg.method]) {
      const fns = this.listeners.get(k);
      if (fns) for (const fn of [...fns]) fn(msg.params || {}, msg.sessionId);
      if (key === msg.method) break;
    }
  }

  send(method, params = {}, sessionId = undefined) {
    const id = this.nextId++;
    const msg = { id, method, params };
    if (sessionId) msg.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.ws.send(JSON.stringify(msg), (err) => {
        if (err) {
          this.pending.delete(id);
          reject(err);
        }
      });
    });
  }

  /** Listens to `method` (optionally only for `sessionId`); returns a function that stops it. */
  on(method, fn, sessionId = undefined) {
    const key = sessionId ? `${sessionId}:${method}` : method;
    if (!this.listeners.has(key)) this.listeners.set(key, new Set());
    this.listeners.get(key).add(fn);
    return () => this.listeners.get(key).delete(fn);
  }

  /** Resolves with the params of the next `method` event for which `pred` holds. */
  waitFor(method, pred = () => true, sessionId = undefined) {
    return new Promise((resolve) => {
      const off = this.on(method, (params) => {
        if (pred(params)) {
          off();
          resolve(params);
        }
      }, sessionId);
    });
  }

  close() {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', resolve);
      this.ws.close();
      setTimeout(() => { this.ws.terminate(); resolve(); }, 2000).unref();
    });
  }
}

/**
 * Takes a heap snapshot over the protocol the way DevTools does: a full GC first, then
 * HeapProfiler.takeHeapSnapshot, writing every addHeapSnapshotChunk to `file` as it comes.
 */
async function takeHeapSnapshot(cdp, file, sessionId = undefined) {
  await cdp.send('HeapProfiler.collectGarbage', {}, sessionId);
  const fd = fs.openSync(file, 'w');
  let bytes = 0;
  const off = cdp.on('HeapProfiler.addHeapSnapshotChunk', ({ chunk }) => {
    bytes += fs.writeSync(fd, chunk);
  }, sessionId);
  try {
    await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false, captureNumericValue: false }, sessionId);
  } finally {
    off();
    fs.closeSync(fd);
  }
  if (bytes === 0) throw new Error(`takeHeapSnapshot sent no chunks for ${file}`);
  return bytes;
}

module.exports = { Cdp, takeHeapSnapshot };
