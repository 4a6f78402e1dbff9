// Control: an RPC client keeps each call in a map until its reply arrives; every call gets
// a reply, so the map holds only calls in flight and is empty at each snapshot.
'use strict';
const { runScenario } = require('./harness');

class RpcClient {
  constructor() {
    this.pending = new Map();
    this.nextId = 1;
  }

  call(method, params) {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, { method, params, resolve });
      setImmediate(() => this.onReply(id, { ok: true }));
    });
  }

  onReply(id, result) {
    const entry = this.pending.get(id);
    this.pending.delete(id);
    if (entry) entry.resolve(result);
  }
}

const rpc = new RpcClient();

async function handleBalance(n) {
  const res = await rpc.call('ledger.balance', { account: `acct-${n % 80}` });
  return res.ok;
}

module.exports = { handleBalance };

runScenario({
  request: handleBalance,
});
