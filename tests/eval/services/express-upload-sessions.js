// Resumable uploads (express 5). Each upload is tracked by an UploadSession object in a
// module-level Map until it completes. Completed uploads are marked done but never removed
// (the cleanup job was planned for "later"), so the Map keeps every upload session ever
// started, with its received chunk list.
'use strict';
const express = require('express');
const v8 = require('v8');

class UploadSession {
  constructor(id, meta) {
    this.id = id;
    this.meta = meta;
    this.chunks = [];
    this.startedAt = Date.now();
    this.done = false;
  }

  append(chunk) {
    this.chunks.push({ offset: this.chunks.length, size: chunk.length, checksum: chunk.slice(0, 16) });
  }
}

const uploads = new Map();
const app = express();
app.use(express.json());

app.post('/uploads/:id/chunks', (req, res) => {
  let session = uploads.get(req.params.id);
  if (!session) {
    session = new UploadSession(req.params.id, { name: req.body.name, contentType: req.body.type });
    uploads.set(req.params.id, session);
  }
  session.append(req.body.data);
  session.done = req.body.last === true;
  res.status(202).json({ id: session.id, chunks: session.chunks.length, done: session.done });
});

app.post('/debug/heapdump', (req, res) => {
  res.json({ file: v8.writeHeapSnapshot() });
});

const server = app.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
