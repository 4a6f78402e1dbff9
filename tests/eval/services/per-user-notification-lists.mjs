// Notification service (plain http, ES module). Each user's notifications are appended to
// that user's list in a module-level Map; the "mark as read" endpoint was never wired to
// trim them, so every user's list grows with every notification sent.
import http from 'node:http';

const inboxes = new Map();

function notify(userId, notification) {
  let list = inboxes.get(userId);
  if (!list) {
    list = [];
    inboxes.set(userId, list);
  }
  list.push({ ...notification, receivedAt: Date.now(), read: false });
  return list.length;
}

const server = http.createServer((req, res) => {
  const m = /^\/users\/([\w-]+)\/notify\?(.*)$/.exec(req.url);
  if (!m) {
    res.writeHead(200).end('ok');
    return;
  }
  const params = new URLSearchParams(m[2]);
  const unread = notify(m[1], { kind: params.get('kind'), text: `Your order ${params.get('order')} has shipped and is on its way to you.` });
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ user: m[1], unread }));
});

server.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
