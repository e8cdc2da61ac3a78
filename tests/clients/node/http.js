// http.js — an unmodified Node.js HTTP server and client on 127.0.0.1, part of anypoll's
// clients room (tests/clients/). Node's event loop is its bundled libuv (epoll, an eventfd for
// its async handles, io_uring where the kernel allows it), so on a host without epoll Node does
// not start unless anypoll provides them.
//
//   200 GETs over one keep-alive connection, 100 GETs each on a new connection (8 at a time),
//   100 POSTs whose body the server echoes back; every status, length and body byte is checked,
//   and the server counts the requests and connections it saw.
//
// Prints one line `node-http: ok: ...` or `node-http: FAIL: ...`; exits 0 only if all held.
'use strict';
const http = require('http');

const KEEPALIVE = 200, FRESH = 100, POSTS = 100, PARALLEL = 8;

function fail(msg) {
    console.log(`node-http: FAIL: ${msg}`);
    process.exit(1);
}

// The body of /bytes/N: N bytes depending on N and position, so a wrong or cut body shows.
function pattern(n) {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (i * 29 + n * 5) % 251;
    return b;
}

let served = 0, connections = 0;
const server = http.createServer((req, res) => {
    served++;
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
        const m = /^\/bytes\/(\d+)$/.exec(req.url);
        if (req.method === 'GET' && m) {
            res.writeHead(200, {'content-type': 'application/octet-stream'});
            res.end(pattern(Number(m[1])));
        } else if (req.method === 'POST' && req.url === '/echo') {
            res.writeHead(200, {'content-type': 'application/octet-stream'});
            res.end(Buffer.concat(chunks));
        } else {
            res.writeHead(404);
            res.end('not found\n');
        }
    });
});
server.on('connection', () => connections++);

function request(opts, body) {
    return new Promise((resolve, reject) => {
        const req = http.request(opts, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks)}));
            res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
    });
}

async function get(port, agent, n) {
    const r = await request({host: '127.0.0.1', port, path: `/bytes/${n}`, agent});
    if (r.status !== 200) fail(`GET /bytes/${n}: status ${r.status}`);
    if (Number(r.headers['content-length']) !== n && r.headers['transfer-encoding'] !== 'chunked')
        fail(`GET /bytes/${n}: content-length ${r.headers['content-length']}`);
    if (!r.body.equals(pattern(n))) fail(`GET /bytes/${n}: body of ${r.body.length} bytes differs`);
    return n;
}

async function main() {
    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
    });
    const port = server.address().port;
    let bytes = 0;

    const keep = new http.Agent({keepAlive: true, maxSockets: 1});
    for (let i = 0; i < KEEPALIVE; i++) bytes += await get(port, keep, (i * 1009) % 30000);
    keep.destroy();
    const keepConns = connections;
    if (keepConns !== 1) fail(`${KEEPALIVE} keep-alive GETs used ${keepConns} connections`);

    for (let i = 0; i < FRESH; i += PARALLEL) {
        const batch = [];
        for (let k = i; k < Math.min(FRESH, i + PARALLEL); k++) batch.push(get(port, false, 500 + k * 613));
        for (const n of await Promise.all(batch)) bytes += n;
    }
    const freshConns = connections - keepConns;
    if (freshConns !== FRESH) fail(`${FRESH} GETs without an agent used ${freshConns} connections`);

    const postAgent = new http.Agent({keepAlive: true, maxSockets: 4});
    const posts = [];
    for (let i = 0; i < POSTS; i++) {
        const body = pattern(100 + i * 997);
        posts.push(request({host: '127.0.0.1', port, path: '/echo', method: 'POST', agent: postAgent}, body).then((r) => {
            if (r.status !== 200 || !r.body.equals(body)) fail(`POST /echo ${i}: status ${r.status}, ${r.body.length} of ${body.length} bytes`);
            return r.body.length;
        }));
    }
    for (const n of await Promise.all(posts)) bytes += n;
    postAgent.destroy();

    const total = KEEPALIVE + FRESH + POSTS;
    if (served !== total) fail(`server saw ${served} requests, client sent ${total}`);
    await new Promise((resolve) => server.close(resolve));
    console.log(`node-http: ok: node ${process.version} (libuv ${process.versions.uv}); ${total} requests, all 200, ` +
        `${bytes} body bytes verified; ${KEEPALIVE} GETs on 1 keep-alive connection, ${FRESH} on new ones, ` +
        `${POSTS} POSTs echoed; ${connections} connections`);
}

main().catch((e) => fail(e.stack || String(e)));
