"use strict";
// Compiled by tsc from src/server.ts (target ES2017, module commonjs). Tenant API: each
// request opens a TenantSession that batches usage metrics and flushes them every 30 s from
// an interval started in its constructor. Handlers never call dispose(), so every session's
// interval (and the session it flushes) stays scheduled forever.
var __awaiter = (this && this.__awaiter) || function (thisArg, _arguments, P, generator) {
    function adopt(value) { return value instanceof P ? value : new P(function (resolve) { resolve(value); }); }
    return new (P || (P = Promise))(function (resolve, reject) {
        function fulfilled(value) { try { step(generator.next(value)); } catch (e) { reject(e); } }
        function rejected(value) { try { step(generator["throw"](value)); } catch (e) { reject(e); } }
        function step(result) { result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected); }
        step((generator = generator.apply(thisArg, _arguments || [])).next());
    });
};
Object.defineProperty(exports, "__esModule", { value: true });
exports.TenantSession = void 0;
const http_1 = require("http");
class TenantSession {
    constructor(tenantId, plan) {
        this.tenantId = tenantId;
        this.plan = plan;
        this.usage = { requests: 0, bytesOut: 0, samples: [] };
        this.flushTimer = setInterval(() => this.flush(), 30000);
    }
    record(bytes) {
        this.usage.requests += 1;
        this.usage.bytesOut += bytes;
        this.usage.samples.push({ at: Date.now(), bytes, plan: this.plan });
    }
    flush() {
        this.usage.samples.length = 0;
    }
    dispose() {
        clearInterval(this.flushTimer);
    }
}
exports.TenantSession = TenantSession;
function lookupPlan(tenantId) {
    return __awaiter(this, void 0, void 0, function* () {
        yield new Promise((resolve) => setImmediate(resolve));
        return { tenantId, name: tenantId.endsWith("7") ? "enterprise" : "team", limits: { rps: 50, storageGb: 100 } };
    });
}
const server = (0, http_1.createServer)((req, res) => __awaiter(void 0, void 0, void 0, function* () {
    var _a;
    const match = /^\/tenants\/([\w-]+)\/usage$/.exec((_a = req.url) !== null && _a !== void 0 ? _a : "");
    if (!match) {
        res.writeHead(404).end();
        return;
    }
    const plan = yield lookupPlan(match[1]);
    const session = new TenantSession(match[1], plan);
    const body = JSON.stringify({ tenant: match[1], plan: plan.name, limits: plan.limits });
    session.record(Buffer.byteLength(body));
    res.writeHead(200, { "content-type": "application/json" }).end(body);
}));
server.listen(Number(process.env.PORT) || 0, "127.0.0.1", () => {
    const addr = server.address();
    console.log(`listening on http://127.0.0.1:${addr.port}`);
});
//# sourceMappingURL=server.js.map
