// Control (http + ws): the chat server that removes a closed client from its room, and the
// room itself once it is empty.
'use strict';
const http = require('http');
const { WebSocketServer, WebSocket } = require('ws');

const rooms = new Map();
const online = new Set();

const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ online: online.size, rooms: rooms.size }));
});

const wss = new WebSocketServer({ server });

wss.on('connection', (ws, req) => {
  const params = new URL(req.url, 'http://localhost').searchParams;
  const room = params.get('room') || 'lobby';
  const user = params.get('user') || 'anonymous';
  online.add(ws);
  if (!rooms.has(room)) rooms.set(room, new Set());
  rooms.get(room).add(ws);
  const profile = { user, room, joinedAt: Date.now(), history: [] };

  ws.on('message', (data) => {
    const text = data.toString();
    profile.history.push(text);
    const out = JSON.stringify({ from: user, room, text });
    for (const peer of rooms.get(room)) {
      if (peer.readyState === WebSocket.OPEN) peer.send(out);
    }
  });

  ws.on('close', () => {
    online.delete(ws);
    const members = rooms.get(room);
    members.delete(ws);
    if (members.size === 0) rooms.delete(room);
  });
});

server.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
