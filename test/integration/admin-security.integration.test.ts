/**
 * The admin API against those it must not serve: a browser page of another origin, a DNS name
 * rebound to 127.0.0.1, a caller without the token, and sockets that never finish a request.
 * Real `apiary start` nodes on 127.0.0.1, raw HTTP requests (any Host, any Origin) and raw
 * TCP sockets.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActorSystem, startAdminServer, type TreeEntry, type TreeSnapshot } from '../../dist/index.js';
import { startNode, type NodeProcess } from './processes.js';

const cli = fileURLToPath(new URL('../../dist/runtime/cli/main.js', import.meta.url));
const TOKEN = 'a-long-admin-token-for-tests';
// no random faults: an actor's restarts change only when a test kills it
const quiet = { ...process.env, APIARY_DEMO_FAULT_RATE: '0', APIARY_DEMO_API_ERROR_RATE: '0', APIARY_DEMO_API_THROTTLE_RATE: '0' };
let dir: string;
let tokenFile: string;
/** A node without a token, and one started with --admin-token-file. */
let open: { node: NodeProcess; port: number };
let guarded: { node: NodeProcess; port: number };

async function startAdmin(args: string[]): Promise<{ node: NodeProcess; port: number }> {
  const node = startNode([cli, 'start', '--threads', '0', '--http', '127.0.0.1:0', ...args], quiet);
  await node.waitFor(/ready .* http: 127\.0\.0\.1:\d+/, 20_000);
  return { node, port: Number(/http: 127\.0\.0\.1:(\d+)/.exec(node.stdout())![1]) };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'apiary-admin-sec-'));
  tokenFile = join(dir, 'admin-token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  [open, guarded] = await Promise.all([startAdmin([]), startAdmin(['--admin-token-file', tokenFile])]);
}, 40_000);

afterAll(async () => {
  for (const n of [open, guarded]) {
    if (n === undefined) continue;
    n.node.child.kill('SIGTERM');
    await n.node.exit(10_000);
    n.node.dispose();
  }
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { error?: { code: string; message: string } } & Record<string, unknown>;
}

/** One HTTP request on its own connection, with exactly the headers given (Host included). */
function http(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      const json = /^application\/json/.test(res.headers['content-type'] ?? '');
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: json ? (JSON.parse(text) as Answer['body']) : { text } }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path}: no answer in 10 s`)));
    req.end(body);
  });
}

function find(entries: TreeEntry[], path: string): TreeEntry | undefined {
  for (const e of entries) {
    if (e.path === path) return e;
    const inner = find(e.children ?? [], path);
    if (inner) return inner;
  }
  return undefined;
}

async function entry(port: number, path: string, headers: Record<string, string> = {}): Promise<TreeEntry> {
  const { status, body } = await http(port, 'GET', '/tree', headers);
  expect(status).toBe(200);
  return find((body as unknown as TreeSnapshot).children, path)!;
}

/** Waits until `path` runs with `restarts` restarts (bounded); returns the entry as last seen. */
async function runningWith(port: number, path: string, restarts: number, headers: Record<string, string> = {}): Promise<TreeEntry> {
  const deadline = performance.now() + 3000;
  let e = await entry(port, path, headers);
  while ((e.status !== 'running' || e.restarts !== restarts) && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    e = await entry(port, path, headers);
  }
  return e;
}

function apiary(args: string[], env: NodeJS.ProcessEnv = quiet): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout: 30_000, env }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Resolves with ms from now until the socket closes (or `limitMs`, then destroys it). */
function closesWithin(socket: Socket, limitMs: number): Promise<{ ms: number; received: string }> {
  const t0 = performance.now();
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString()));
  socket.on('error', () => {});
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ms: Infinity, received });
    }, limitMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ ms: performance.now() - t0, received });
    });
  });
}

const DETECTOR = '/demo/monitoring/detector';

describe('a browser page cannot drive the admin API', () => {
  it('refuses a cross-origin "simple" POST /actors/{path}/kill (Origin: http://evil.example, text/plain) with 403 ERR_ORIGIN_NOT_ALLOWED, and the actor runs on; its own origin and a script without Origin kill it', async () => {
    const before = await entry(open.port, DETECTOR);
    const res = await http(open.port, 'POST', `/actors${DETECTOR}/kill`, { origin: 'http://evil.example', 'content-type': 'text/plain' }, 'x');
    expect(res.status).toBe(403);
    expect(res.body.error?.code).toBe('ERR_ORIGIN_NOT_ALLOWED');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    // a page whose Origin a browser hides (Origin: null) or only marks cross-site is refused too
    const hidden = await http(open.port, 'POST', `/actors${DETECTOR}/kill`, { origin: 'null', 'content-type': 'text/plain' });
    const marked = await http(open.port, 'POST', `/actors${DETECTOR}/kill`, { 'sec-fetch-site': 'cross-site' });
    expect([hidden.status, hidden.body.error?.code, marked.status, marked.body.error?.code]).toEqual([403, 'ERR_ORIGIN_NOT_ALLOWED', 403, 'ERR_ORIGIN_NOT_ALLOWED']);
    await new Promise((r) => setTimeout(r, 300));
    const after = await entry(open.port, DETECTOR);
    expect(after).toMatchObject({ status: 'running', restarts: before.restarts, incarnation: before.incarnation });

    const own = await http(open.port, 'POST', `/actors${DETECTOR}/kill`, { origin: `http://127.0.0.1:${open.port}`, 'sec-fetch-site': 'same-origin' });
    expect(own.status).toBe(200);
    expect(await runningWith(open.port, DETECTOR, before.restarts + 1)).toMatchObject({ status: 'running', restarts: before.restarts + 1 });
    const script = await http(open.port, 'POST', `/actors${DETECTOR}/kill`);
    expect(script.status).toBe(200);
    expect(await runningWith(open.port, DETECTOR, before.restarts + 2)).toMatchObject({ status: 'running', restarts: before.restarts + 2 });
  });

  it('refuses GET /tree and a kill whose Host is attacker.example (DNS rebinding) with 421 ERR_HOST_NOT_ALLOWED; serves loopback names and addresses', async () => {
    const read = await http(open.port, 'GET', '/tree', { host: `attacker.example:${open.port}` });
    expect(read.status).toBe(421);
    expect(read.body).toEqual({ error: { code: 'ERR_HOST_NOT_ALLOWED', message: expect.any(String) } });
    expect(JSON.stringify(read.body)).not.toContain('detector');
    const kill = await http(open.port, 'POST', `/actors${DETECTOR}/kill`, { host: 'attacker.example' });
    expect(kill.status).toBe(421);
    for (const host of [`127.0.0.1:${open.port}`, `localhost:${open.port}`, `[::1]:${open.port}`, '10.1.2.3']) {
      const res = await http(open.port, 'GET', '/tree', { host, origin: `http://${host}` });
      expect([host, res.status]).toEqual([host, 200]);
    }
  });

  it('answers a CORS preflight without granting anything', async () => {
    const preflight = { 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' };
    const foreign = await http(open.port, 'OPTIONS', `/actors${DETECTOR}/kill`, { origin: 'http://evil.example', ...preflight });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error?.code).toBe('ERR_ORIGIN_NOT_ALLOWED');
    const own = await http(open.port, 'OPTIONS', `/actors${DETECTOR}/kill`, { origin: `http://127.0.0.1:${open.port}`, ...preflight });
    expect(own.status).toBe(204);
    for (const r of [foreign, own]) expect(Object.keys(r.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });
});

describe('the admin token', () => {
  const bearer = { authorization: `Bearer ${TOKEN}` };

  it('refuses a kill without the token or with a wrong one (401 ERR_UNAUTHORIZED, the actor runs on), and kills with it', async () => {
    const before = await entry(guarded.port, DETECTOR, bearer);
    const none = await http(guarded.port, 'POST', `/actors${DETECTOR}/kill`);
    const wrong = await http(guarded.port, 'POST', `/actors${DETECTOR}/kill`, { authorization: `Bearer ${TOKEN}x` });
    const shorter = await http(guarded.port, 'POST', `/actors${DETECTOR}/kill`, { authorization: 'Bearer a' });
    for (const r of [none, wrong, shorter]) {
      expect(r.status).toBe(401);
      expect(r.body.error?.code).toBe('ERR_UNAUTHORIZED');
      expect(r.headers['www-authenticate']).toMatch(/^Bearer /);
    }
    const ask = await http(guarded.port, 'POST', `/actors${DETECTOR}/ask`, { 'content-type': 'application/json' }, '"ping"');
    expect(ask.status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(await entry(guarded.port, DETECTOR, bearer)).toMatchObject({ status: 'running', restarts: before.restarts, incarnation: before.incarnation });
    const right = await http(guarded.port, 'POST', `/actors${DETECTOR}/kill`, bearer);
    expect(right.status).toBe(200);
    expect(await runningWith(guarded.port, DETECTOR, before.restarts + 1, bearer)).toMatchObject({ status: 'running', restarts: before.restarts + 1 });
  });

  it('needs the token for every read too, but not for the probes /health/live and /health/ready', async () => {
    for (const path of ['/tree', '/health', '/metrics', '/members']) {
      const res = await http(guarded.port, 'GET', path);
      expect([path, res.status, res.body.error?.code]).toEqual([path, 401, 'ERR_UNAUTHORIZED']);
      expect([path, (await http(guarded.port, 'GET', path, bearer)).status]).toEqual([path, 200]);
    }
    expect(await http(guarded.port, 'GET', '/health/live')).toMatchObject({ status: 200, body: { status: 'live' } });
    expect(await http(guarded.port, 'GET', '/health/ready', { host: 'kubelet.probe' })).toMatchObject({ status: 200, body: { status: 'healthy' } });
  });

  it('apiary kill --admin-token-file kills the actor; tree and status take APIARY_ADMIN_TOKEN; without a token they exit 1 naming the flag', async () => {
    const http = `127.0.0.1:${guarded.port}`;
    const before = await entry(guarded.port, DETECTOR, bearer);
    const k = await apiary(['kill', DETECTOR, '--http', http, '--admin-token-file', tokenFile]);
    expect(k).toMatchObject({ code: 0, stdout: `killed ${DETECTOR}\n` });
    expect(await runningWith(guarded.port, DETECTOR, before.restarts + 1, bearer)).toMatchObject({ restarts: before.restarts + 1 });
    const withEnv = { ...quiet, APIARY_ADMIN_TOKEN: TOKEN };
    const t = await apiary(['tree', '--json', '--http', http], withEnv);
    expect(t.code).toBe(0);
    expect(JSON.parse(t.stdout)).toMatchObject({ node: 'demo' });
    expect(await apiary(['status', '--http', http], withEnv)).toMatchObject({ code: 0, stdout: expect.stringMatching(/^node demo · /) });
    for (const args of [['tree'], ['status'], ['kill', DETECTOR]]) {
      const r = await apiary([...args, '--http', http]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^apiary: .*--admin-token-file.*\n$/);
    }
    const missing = await apiary(['tree', '--http', http, '--admin-token-file', join(dir, 'nope')]);
    expect(missing.code).toBe(2);
  });

  it('apiary bench --http --admin-token-file measures a node that has a token', async () => {
    const args = ['bench', '--http', `127.0.0.1:${guarded.port}`, '--path', '/demo/monitoring/alerter', '--message', '{"type":"alert","sensor":"bench","z":0.1}', '--quick', '--json', '--out', join(dir, 'bench.json')];
    const r = await apiary([...args, '--admin-token-file', tokenFile]);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as { scenario: string; system: string; metric: string }[];
    expect(rows.filter((row) => row.scenario === 'http-ask' && row.system === 'apiary').map((row) => row.metric)).toEqual(['p50', 'p99', 'p999']);
    const without = await apiary(args);
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/401.*--admin-token-file/);
  });

  it('apiary start refuses an admin server beyond loopback without a token: exit 2, one line, before listening', async () => {
    const r = await apiary(['start', '--threads', '0', '--http', '0.0.0.0:0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^apiary: invalid config \(1 bad field\): --http must be a loopback address unless an admin token is set .*, got "0\.0\.0\.0:0"\n$/);
    expect(r.stdout).not.toMatch(/ready/);
    // the same address with a token is a valid config (checked without starting a node)
    expect((await apiary(['config', '--http', '0.0.0.0:0', '--admin-token-file', tokenFile])).code).toBe(0);
    // and in code: startAdminServer rejects before binding
    const system = new ActorSystem({ name: 'beyond' });
    try {
      await expect(startAdminServer(system, { host: '0.0.0.0', port: 0 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'token' });
    } finally {
      await system.stop();
    }
  });
});

describe("deadlines of admin sockets (the README's figures)", () => {
  /** headersTimeoutMs 5000 + checkIntervalMs 250. */
  const bound = 5250;
  /** keepAliveTimeoutMs 1000 + node:http's fixed 1 s. */
  const keepAlive = 2000;
  const maxConnections = 64;

  it(`closes an idle TCP socket that never sends a byte, and a request whose headers drip in, within ${bound} ms of accept`, async () => {
    const idle = connect(open.port, '127.0.0.1');
    const drip = connect(open.port, '127.0.0.1');
    drip.write(`GET /tree HTTP/1.1\r\nHost: 127.0.0.1:${open.port}\r\n`);
    const dripping = setInterval(() => drip.writable && drip.write('x'), 100);
    try {
      // a bound under load: the server's check may run late by a loaded machine's lag
      const [i, d] = await Promise.all([closesWithin(idle, bound + 5000), closesWithin(drip, bound + 5000)]);
      expect(i.ms).toBeLessThan(bound + 1500);
      expect(d.ms).toBeLessThan(bound + 1500);
      expect(d.received).not.toMatch(/^HTTP\/1\.1 200/);
    } finally {
      clearInterval(dripping);
      idle.destroy();
      drip.destroy();
    }
  }, 20_000);

  it(`closes a kept-alive socket ${keepAlive} ms after its response, not 6 s`, async () => {
    const socket = connect(open.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const answered = new Promise<void>((r) => socket.once('data', () => r()));
    socket.write(`GET /tree HTTP/1.1\r\nHost: 127.0.0.1:${open.port}\r\n\r\n`);
    await answered;
    const { ms, received } = await closesWithin(socket, 8000);
    expect(received).not.toMatch(/HTTP\/1\.1 4/);
    expect(ms).toBeLessThan(keepAlive + 1000);
  }, 15_000);

  it(`closes a new socket at once past ${maxConnections} open ones`, async () => {
    const extra = 6;
    const sockets = Array.from({ length: maxConnections + extra }, () => connect(open.port, '127.0.0.1'));
    try {
      const closedAt: number[] = [];
      const t0 = performance.now();
      for (const s of sockets) {
        s.on('error', () => {});
        s.on('close', () => closedAt.push(performance.now() - t0));
      }
      await new Promise((r) => setTimeout(r, 1000));
      expect(closedAt.length).toBeGreaterThanOrEqual(extra);
      expect(sockets.filter((s) => !s.destroyed).length).toBeLessThanOrEqual(maxConnections);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });
});
