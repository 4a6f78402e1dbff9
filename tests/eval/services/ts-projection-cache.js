"use strict";
// Compiled by tsc from src/projection.ts + src/main.ts (target ES2020, module commonjs).
// Reporting API: clients pick the columns they want; a projector function is generated per
// column list with `new Function` and memoised by the column list. Column lists come from
// the client (custom columns carry the user's own names), so the memo table only grows.
Object.defineProperty(exports, "__esModule", { value: true });
exports.project = exports.compiledProjections = void 0;
const http = require("http");
const v8 = require("v8");
exports.compiledProjections = {};
function compileProjector(columns) {
    const fields = columns.map((c) => `${JSON.stringify(c)}: row[${JSON.stringify(c)}] ?? null`).join(", ");
    return new Function("row", `return { ${fields} };`);
}
function project(rows, columns) {
    const key = columns.join("|");
    let projector = exports.compiledProjections[key];
    if (projector === undefined) {
        projector = compileProjector(columns);
        exports.compiledProjections[key] = projector;
    }
    return rows.map((r) => projector(r));
}
exports.project = project;
const rows = Array.from({ length: 20 }, (_, i) => ({ id: i, name: `row ${i}`, region: ["eu", "us", "apac"][i % 3], revenue: i * 1000 }));
function readBody(req) {
    return new Promise((resolve, reject) => {
        let data = "";
        req.setEncoding("utf8");
        req.on("data", (c) => (data += c));
        req.on("end", () => resolve(data));
        req.on("error", reject);
    });
}
const server = http.createServer(async (req, res) => {
    const body = await readBody(req);
    if (req.method === "POST" && req.url === "/report") {
        const { columns } = JSON.parse(body);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(project(rows, columns).slice(0, 5)));
    }
    else if (req.method === "POST" && req.url === "/debug/heapdump") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ file: v8.writeHeapSnapshot() }));
    }
    else {
        res.writeHead(404).end();
    }
});
server.listen(Number(process.env.PORT) || 0, "127.0.0.1", () => {
    console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
//# sourceMappingURL=main.js.map
