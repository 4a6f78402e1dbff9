// RPC client: every call stores its resolver in a private map until the reply with the same
// correlation id comes back. Calls to a method the backend silently drops never get a reply,
// and there is no timeout, so their entries stay in the map forever.
'use strict';
const { runScenario } = require('./harness');

class RpcClient {
  #pending = new Map();
  #nextId = 1;

  call(method, params) {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, { method, params, resolve, sentAt: Date.now() });
      this.#transport(id, method);
    });
  }

  #transport(id, method) {
    // The backend answers everything except fire-and-forget audit calls.
    if (method !== 'audit.record') queueMicrotask(() => this.#onReply(id, { ok: true }));
  }

  #onReply(id, result) {
    const entry = this.#pending.get(id);
    if (!entry) return;
    this.#pending.delete(id);
    entry.resolve(result);
  }
}

const rpc = new RpcClient();

function handleTransfer(n) {
  rpc.call('ledger.transfer', { from: `acct-${n % 50}`, to: `acct-${(n + 7) % 50}`, cents: n % 1000 });
  rpc.call('audit.record', { actor: `user-${n % 300}`, action: 'transfer', at: n });
}

module.exports = { handleTransfer, rpc };

runScenario({
  request: handleTransfer,
  exitAfter: true,
});
