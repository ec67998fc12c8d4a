/**
 * Who may reach a node link, tried as an operator and an attacker would on 127.0.0.1 (real
 * `apiary` processes and real sockets): a node without a secret refuses to listen unless
 * `--insecure` (loopback only); a browser page (an upgrade with `Origin`) is refused before the
 * handshake and never listed; idle sockets and a header drip die at the deadline from TCP
 * accept, and sockets beyond the cap of unauthenticated ones at once; three nodes with TLS
 * certificates made here by the openssl CLI join over wss:// (mutual TLS) and ask each other,
 * and neither a plaintext client nor one with another CA's certificate gets in.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ActorSystem, RealClock } from '../../dist/index.js';
import { connectNodeLink, listenNodeLinks, type LinkRefusal, type NodeLinkServer } from '../../dist/transport/node-link.js';
import { membersUntil, metric, startDriven, type DrivenNode } from './cluster-driver.js';
import { startNode, type NodeProcess } from './processes.js';

const cli = fileURLToPath(new URL('../../dist/runtime/cli/main.js', import.meta.url));
const app = fileURLToPath(new URL('../fixtures/logs-config.mjs', import.meta.url));
const SECRET = 'test-secret'; // what test/fixtures/cluster-node.mjs holds by default
const clock = new RealClock();
const bytes = (s: string) => new TextEncoder().encode(s);

/** The environment without the test runner's cluster secret, plus `extra`. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e = { ...process.env, ...extra };
  if (extra.APIARY_SECRET === undefined) delete e.APIARY_SECRET;
  return e;
}

const running: { dispose(): void }[] = [];
const servers: NodeLinkServer[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await s.close();
  for (const p of running.splice(0)) p.dispose();
});

interface CliNode {
  proc: NodeProcess;
  /** What the ready line shows after `ws:` (`host:port`, or a `wss://` URL) and `http:`. */
  ws: string;
  http: string;
}

/** `apiary start` with a small app (an echo actor), waited for until ready. */
async function startCli(name: string, args: string[], environment: NodeJS.ProcessEnv): Promise<CliNode> {
  const proc = startNode([cli, 'start', '--name', name, '--config', app, '--threads', '0', '--http', '127.0.0.1:0', ...args], environment);
  running.push(proc);
  await proc.waitFor(/ready ·/, 20_000);
  const [, ws, http] = /ws: (\S+) · http: (\S+) ·/.exec(proc.stdout())!;
  return { proc, ws: ws!, http: `http://${http!}` };
}

async function refusalReasons(http: string): Promise<string[]> {
  const health = (await (await fetch(`${http}/health`)).json()) as { refusals: { reason: string }[] };
  return health.refusals.map((r) => r.reason);
}

/** Opens a TCP socket to `host:port`; resolves with ms from connect to close (rejects if still open after `ms`). */
function lifetime(host: string, port: number, ms: number, onConnect: (s: Socket) => void = () => {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect(port, host);
    sockets.push(s);
    let at = 0;
    const timer = setTimeout(() => reject(new Error(`socket still open after ${ms} ms`)), ms);
    s.on('error', () => {});
    s.on('connect', () => {
      at = performance.now();
      onConnect(s);
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(performance.now() - at);
    });
  });
}

describe('listening without a secret', () => {
  it('apiary start --listen without a secret exits 2 with one line and listens nowhere; with --insecure it listens on loopback', async () => {
    const refused = startNode([cli, 'start', '--name', 'open', '--config', app, '--threads', '0', '--http', '127.0.0.1:0', '--listen', '127.0.0.1:0'], env());
    running.push(refused);
    expect(await refused.exit(20_000)).toBe(2);
    expect(refused.stderr().trimEnd().split('\n')).toEqual([expect.stringMatching(/^apiary: no cluster secret: refusing to listen on 127\.0\.0\.1:0 .*--insecure/)]);
    expect(refused.stdout()).not.toMatch(/ready/);

    const insecure = await startCli('open', ['--listen', '127.0.0.1:0', '--insecure'], env());
    expect(insecure.ws).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(insecure.proc.stdout()).toMatch(/"event":"no-secret"/);
  });

  it('apiary start refuses plaintext links beyond loopback (exit 2, one line), even with a secret', async () => {
    const refused = startNode([cli, 'start', '--name', 'wide', '--config', app, '--threads', '0', '--http', '127.0.0.1:0', '--listen', '0.0.0.0:0'], env({ APIARY_SECRET: SECRET }));
    running.push(refused);
    expect(await refused.exit(20_000)).toBe(2);
    expect(refused.stderr().trimEnd().split('\n')).toEqual([expect.stringMatching(/^apiary: plaintext node links beyond loopback: .*--tls-cert and --tls-key/)]);
  });

  it('apiary start refuses to dial a ws:// seed beyond loopback (exit 2, one line) before it dials anything', async () => {
    const refused = startNode([cli, 'start', '--name', 'far', '--config', app, '--threads', '0', '--http', '127.0.0.1:0', '--seeds', 'ws://192.0.2.10:7401'], env({ APIARY_SECRET: SECRET }));
    running.push(refused);
    expect(await refused.exit(20_000)).toBe(2);
    expect(refused.stderr().trimEnd().split('\n')).toEqual([expect.stringMatching(/^apiary: plaintext node link beyond loopback: refusing to dial the seed ws:\/\/192\.0\.2\.10:7401 .*--insecure/)]);
  });

  it('new ActorSystem throws ERR_INSECURE_LISTEN without a secret (or beyond loopback in plaintext), and listens on loopback with insecure: true', async () => {
    const listen = { host: '127.0.0.1', port: 0 };
    expect(() => new ActorSystem({ name: 'a', cluster: { listen, secret: new Uint8Array(0) } })).toThrow(
      expect.objectContaining({ code: 'ERR_INSECURE_LISTEN', field: 'cluster.secret' }),
    );
    expect(() => new ActorSystem({ name: 'a', cluster: { listen: { host: '0.0.0.0', port: 0 }, secret: new Uint8Array(0), insecure: true } })).toThrow(
      expect.objectContaining({ code: 'ERR_INSECURE_LISTEN', field: 'cluster.listen' }),
    );
    expect(() => new ActorSystem({ name: 'a', cluster: { listen: { host: '0.0.0.0', port: 0 }, secret: bytes(SECRET) } })).toThrow(
      expect.objectContaining({ code: 'ERR_INSECURE_LISTEN', field: 'cluster.tls' }),
    );
    await expect(listenNodeLinks(listen, { name: 'a', incarnation: 1, secret: new Uint8Array(0) }, { clock }, () => {})).rejects.toMatchObject({ code: 'ERR_INSECURE_LISTEN' });
    const system = new ActorSystem({ name: 'a', cluster: { listen, secret: new Uint8Array(0), insecure: true } });
    try {
      await system.ready();
      expect(system.cluster!.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await system.stop();
    }
  });
});

/**
 * What a web page can do with `new WebSocket(url)`: its browser adds `Origin`. Against a node
 * without a secret the page knows the key (empty), so the whole handshake is in its reach.
 */
function joinAsPage(url: string): Promise<{ status?: number; welcomed: boolean }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { origin: 'http://evil.example' });
    const done = (r: { status?: number; welcomed: boolean }) => {
      ws.terminate();
      resolve(r);
    };
    ws.on('unexpected-response', (_req, res) => done({ status: res.statusCode, welcomed: false }));
    ws.on('error', () => done({ welcomed: false }));
    ws.on('close', () => done({ welcomed: false }));
    ws.once('message', (data) => {
      const c = JSON.parse(data.toString()) as { v: number; node: string; inc: number; nonce: string };
      const hello = { v: c.v, node: 'page', inc: 1, nonce: randomBytes(32).toString('base64') };
      const mac = createHmac('sha256', new Uint8Array(0))
        .update(['connector', c.v, c.node, c.inc, c.nonce, hello.node, hello.inc, hello.nonce].join('\n'))
        .digest('base64');
      ws.once('message', (reply) => {
        if ((JSON.parse(reply.toString()) as { t: string }).t !== 'welcome') return done({ welcomed: false });
        // stay a moment, as a page would, so the node lists it
        setTimeout(() => done({ welcomed: true }), 500);
      });
      ws.send(JSON.stringify({ t: 'hello', ...hello, mac }));
    });
  });
}

describe('a browser page', () => {
  it('cannot join even a node without a secret: its upgrade (with Origin) is refused with 403 before the handshake, counted, and nothing appears in /members', async () => {
    const node = await startCli('n1', ['--listen', '127.0.0.1:0', '--insecure'], env());
    const outcome = await joinAsPage(`ws://${node.ws}`);
    expect(outcome).toEqual({ status: 403, welcomed: false });
    const members = await membersUntil(node.http, () => true, 1000);
    expect(members.map((m) => m.node)).toEqual(['n1']);
    expect(await refusalReasons(node.http)).toEqual(['origin']);
    expect(await metric(node.http, 'apiary_handshake_refusals_total{reason="origin"}')).toBe(1);
  });
});

describe('sockets that never finish a handshake', () => {
  it('200 idle TCP sockets on the ws port are all closed within 1 s of accept (those beyond the cap of 64 at once), each counted as a refusal', async () => {
    const node = await startCli('n1', ['--listen', '127.0.0.1:0'], env({ APIARY_SECRET: SECRET }));
    const port = Number(node.ws.split(':')[1]);
    const lives = await Promise.all(Array.from({ length: 200 }, () => lifetime('127.0.0.1', port, 5000)));
    const sorted = [...lives].sort((a, b) => a - b);
    const longest = sorted.at(-1)!;
    console.log(`200 idle sockets: closed after ${Math.round(sorted[0]!)}–${Math.round(longest)} ms (median ${Math.round(sorted[100]!)} ms)`);
    expect(longest).toBeLessThan(1500);
    // most were refused at accept (the cap), the rest at the deadline: every one counted once
    const busy = await metric(node.http, 'apiary_handshake_refusals_total{reason="busy"}');
    const timeout = await metric(node.http, 'apiary_handshake_refusals_total{reason="timeout"}');
    expect(busy + timeout).toBe(200);
    expect(timeout).toBeGreaterThanOrEqual(64);
    expect(busy).toBeGreaterThan(0);
    expect(lives.filter((ms) => ms < 500).length).toBe(busy);
  });

  it('a slow header drip (one byte every 100 ms) is cut at the deadline from accept, not when the headers end', async () => {
    const node = await startCli('n1', ['--listen', '127.0.0.1:0'], env({ APIARY_SECRET: SECRET }));
    const port = Number(node.ws.split(':')[1]);
    let drip: NodeJS.Timeout | undefined;
    const lived = await lifetime('127.0.0.1', port, 5000, (s) => {
      s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Drip: ');
      drip = setInterval(() => s.write('a'), 100);
    });
    clearInterval(drip);
    console.log(`header drip: closed after ${Math.round(lived)} ms`);
    expect(lived).toBeGreaterThanOrEqual(900);
    expect(lived).toBeLessThan(1500);
    expect(await metric(node.http, 'apiary_handshake_refusals_total{reason="timeout"}')).toBe(1);
  });

  it('no more than maxUnauthenticated sockets wait at once: the rest are closed at accept (busy), and a node can join again once they are gone', async () => {
    const refused: LinkRefusal[] = [];
    const server = await listenNodeLinks(
      { host: '127.0.0.1', port: 0 },
      { name: 'a', incarnation: 1, secret: bytes(SECRET) },
      { clock, maxUnauthenticated: 10, handshakeTimeoutMs: 4000 },
      () => {},
      (r) => refused.push(r),
    );
    servers.push(server);
    const port = Number(server.address.split(':')[1]);
    const closedAt: number[] = [];
    const t0 = performance.now();
    const lives = Array.from({ length: 30 }, () => lifetime('127.0.0.1', port, 8000).then((ms) => (closedAt.push(performance.now() - t0), ms)));
    await new Promise((r) => setTimeout(r, 1000));
    expect(closedAt.length).toBe(20); // closed at accept; 10 still wait
    expect(refused.map((r) => r.reason)).toEqual(Array(20).fill('busy'));
    // a node that comes now is refused too: nothing is let in past the cap
    await expect(connectNodeLink(`ws://${server.address}`, { name: 'b', incarnation: 1, secret: bytes(SECRET) }, { clock })).rejects.toMatchObject({ code: 'ERR_HANDSHAKE_FAILED' });
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(lives);
    await new Promise((r) => setTimeout(r, 200)); // the server hears of the closes a moment after the clients
    const link = await connectNodeLink(`ws://${server.address}`, { name: 'b', incarnation: 1, secret: bytes(SECRET) }, { clock });
    expect(link.peer.name).toBe('a');
    link.close();
  });
});

// ---- TLS ----------------------------------------------------------------------------------------

let dir = '';
const pem = (file: string) => readFileSync(join(dir, file), 'utf8');

/** A CA, certificates it signs for n1–n4 (IP:127.0.0.1) and a certificate of another CA; keys in a temp dir. */
function makeCertificates(): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch (err) {
    throw new Error(`these tests make TLS certificates with the openssl CLI, which is not available here (${(err as Error).message}): install it (apt-get install openssl)`);
  }
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'rogue-ca']) {
    ssl('req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=apiary ${ca}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  }
  for (const [name, ca] of [['n1', 'ca'], ['n2', 'ca'], ['n3', 'ca'], ['rogue', 'rogue-ca']] as const) {
    ssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', 'ext.cnf');
  }
}

describe('TLS (certificates made at test time with openssl)', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'apiary-tls-'));
    makeCertificates();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const tlsFlags = (name: string) => ['--tls-cert', join(dir, `${name}.crt`), '--tls-key', join(dir, `${name}.key`), '--tls-ca', join(dir, 'ca.crt')];
  const driven = async (name: string, seed: string): Promise<DrivenNode> => {
    const n = await startDriven({ name, seeds: [seed], cluster: { tls: { cert: pem(`${name}.crt`), key: pem(`${name}.key`), ca: pem('ca.crt') } } });
    running.push(n.proc);
    return n;
  };

  it('three nodes join over wss:// with mutual TLS, gossip wss:// URLs, and an actor on one answers an ask from another', async () => {
    const n1 = await startCli('n1', ['--listen', '127.0.0.1:0', ...tlsFlags('n1')], env({ APIARY_SECRET: SECRET }));
    expect(n1.ws).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
    const [n2, n3] = await Promise.all([driven('n2', n1.ws), driven('n3', n1.ws)]);
    expect([n2.url, n3.url]).toEqual([expect.stringMatching(/^wss:\/\//), expect.stringMatching(/^wss:\/\//)]);
    const allUp = (ms: { node: string; state: string; url?: string }[]) =>
      ms.length === 3 && ms.every((m) => m.state === 'up' && typeof m.url === 'string' && m.url.startsWith('wss://'));
    for (const http of [n1.http, n2.http, n3.http]) await membersUntil(http, allUp, 10_000);
    await n2.cmd({ cmd: 'spawn', node: 'n3', as: 'onN3' });
    expect(await n2.cmd({ cmd: 'ask', to: 'onN3', n: 42 })).toEqual({ pong: 42, node: 'n3' });
    await n3.cmd({ cmd: 'spawn', node: 'n1', as: 'onN1' });
    expect(await n3.cmd({ cmd: 'ask', to: 'onN1', n: 7 })).toEqual({ pong: 7, node: 'n1' });
  });

  it('a plaintext client cannot join a TLS node, nor one whose certificate another CA signed; both are refused as tls and never listed', async () => {
    const n1 = await startCli('n1', ['--listen', '127.0.0.1:0', ...tlsFlags('n1')], env({ APIARY_SECRET: SECRET }));
    const hostPort = n1.ws.slice('wss://'.length);
    const self = { name: 'intruder', incarnation: 1, secret: bytes(SECRET) };
    await expect(connectNodeLink(`ws://${hostPort}`, self, { clock })).rejects.toMatchObject({ code: 'ERR_HANDSHAKE_FAILED' });
    const rogue = { cert: pem('rogue.crt'), key: pem('rogue.key'), ca: pem('ca.crt') };
    await expect(connectNodeLink(n1.ws, self, { clock, tls: rogue })).rejects.toMatchObject({ code: 'ERR_HANDSHAKE_FAILED' });
    // the node's own certificate is trusted by a client holding only another CA: it refuses the server
    const wrongTrust: LinkRefusal[] = [];
    const lost = { cert: pem('n2.crt'), key: pem('n2.key'), ca: pem('rogue-ca.crt') };
    await expect(connectNodeLink(n1.ws, self, { clock, tls: lost }, (r) => wrongTrust.push(r))).rejects.toMatchObject({ code: 'ERR_HANDSHAKE_FAILED' });
    expect(wrongTrust.map((r) => r.reason)).toEqual(['tls']);
    const members = await membersUntil(n1.http, () => true, 1000);
    expect(members.map((m) => m.node)).toEqual(['n1']);
    expect(await metric(n1.http, 'apiary_handshake_refusals_total{reason="tls"}')).toBeGreaterThanOrEqual(2);
    expect(await refusalReasons(n1.http)).toContain('tls');
    // and with the right certificate the same client gets in
    const good = await connectNodeLink(n1.ws, { ...self, name: 'n2' }, { clock, tls: { cert: pem('n2.crt'), key: pem('n2.key'), ca: pem('ca.crt') } });
    expect(good.peer.name).toBe('n1');
    good.close();
  });

  it('apiary doctor checks the TLS files: a certificate the CA signed passes, one it did not fails with the fix', async () => {
    const doctor = (args: string[]) =>
      new Promise<{ code: number; stdout: string }>((resolve) =>
        execFile(process.execPath, [cli, 'doctor', '--http', '127.0.0.1:0', '--listen', '127.0.0.1:0', ...args], { env: env({ APIARY_SECRET: SECRET }), timeout: 20_000 }, (err, stdout) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }),
        ),
      );
    const good = await doctor(tlsFlags('n1'));
    expect(good.stdout).toMatch(/^ {2}PASS {2}TLS +wss:\/\/ · IP Address:127\.0\.0\.1 · valid until .* · mutual TLS/m);
    const bad = await doctor(['--tls-cert', join(dir, 'rogue.crt'), '--tls-key', join(dir, 'rogue.key'), '--tls-ca', join(dir, 'ca.crt')]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^ {2}FAIL {2}TLS +the certificate \(CN=rogue\) is not signed by --tls-ca/m);
    expect(bad.stdout).toContain("fix: sign every node's certificate with the CA given as --tls-ca");
  });
});
