/**
 * Node links on 127.0.0.1: the mutual HMAC handshake, and everything an untrusted peer can
 * try before it — each closes that socket within 1 s and nothing else.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { RealClock } from '../../dist/index.js';
import { connectNodeLink, listenNodeLinks, type LinkRefusal, type NodeLink, type NodeLinkServer } from '../../dist/transport/node-link.js';

const clock = new RealClock();
const secret = new TextEncoder().encode('correct horse battery staple');
let server: NodeLinkServer | undefined;
const links: NodeLink[] = [];

afterEach(async () => {
  for (const l of links.splice(0)) l.close();
  await server?.close();
  server = undefined;
});

async function start(rejected: LinkRefusal[] = [], handshakeTimeoutMs = 1000): Promise<{ url: string; accepted: NodeLink[] }> {
  const accepted: NodeLink[] = [];
  server = await listenNodeLinks(
    { host: '127.0.0.1', port: 0 },
    { name: 'a', incarnation: 7, secret },
    { clock, handshakeTimeoutMs },
    (l) => (accepted.push(l), links.push(l)),
    (why) => rejected.push(why),
  );
  return { url: `ws://${server.address}`, accepted };
}

/** Resolves with ms until the raw socket closes (bounded). */
function closedWithin(ws: WebSocket, ms: number): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket still open after ${ms} ms`)), ms);
    ws.on('close', () => {
      clearTimeout(timer);
      resolve(performance.now() - t0);
    });
    ws.on('error', () => {});
  });
}

describe('node links', () => {
  it('two nodes with the same secret authenticate each other and exchange binary frames', async () => {
    const { url, accepted } = await start();
    const b = await connectNodeLink(url, { name: 'b', incarnation: 3, secret }, { clock });
    links.push(b);
    expect(b.peer).toEqual({ name: 'a', incarnation: 7 });
    for (let i = 0; i < 100 && accepted.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const a = accepted[0]!;
    expect(a.peer).toEqual({ name: 'b', incarnation: 3 });
    const gotByA: number[][] = [];
    const gotByB: number[][] = [];
    a.onFrame((f) => gotByA.push([...f]));
    b.onFrame((f) => gotByB.push([...f]));
    b.send(new Uint8Array([1, 2, 3]));
    a.send(new Uint8Array([4, 5]));
    for (let i = 0; i < 100 && (gotByA.length === 0 || gotByB.length === 0); i++) await new Promise((r) => setTimeout(r, 10));
    expect(gotByA).toEqual([[1, 2, 3]]);
    expect(gotByB).toEqual([[4, 5]]);
  });

  it('a node with the wrong secret is refused (ERR_HANDSHAKE_FAILED) and never linked; both sides know it was the secret, and who the other was', async () => {
    const rejected: LinkRefusal[] = [];
    const { url, accepted } = await start(rejected);
    const wrong = new TextEncoder().encode('wrong');
    const refusedHere: LinkRefusal[] = [];
    await expect(connectNodeLink(url, { name: 'mallory', incarnation: 1, secret: wrong }, { clock }, (r) => refusedHere.push(r))).rejects.toMatchObject({
      code: 'ERR_HANDSHAKE_FAILED',
    });
    expect(accepted).toEqual([]);
    expect(rejected).toEqual([{ reason: 'bad-secret', peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/), node: 'mallory', detail: expect.any(String) }]);
    expect(refusedHere).toEqual([{ reason: 'bad-secret', peer: url.slice('ws://'.length), node: 'a', detail: expect.any(String) }]);
  });

  it('the acceptor tells a refused connector why with a close code (4001 bad secret) and still closes within 1 s', async () => {
    const { url } = await start();
    const ws = new WebSocket(url);
    const challenge = await new Promise<{ node: string; inc: number; nonce: string; v: number }>((r) => ws.once('message', (d) => r(JSON.parse(d.toString()))));
    const code = new Promise<number>((r) => ws.once('close', (c) => r(c)));
    const closed = closedWithin(ws, 1000);
    ws.send(JSON.stringify({ t: 'hello', v: challenge.v, node: 'guess', inc: 1, nonce: randomBytes(32).toString('base64'), mac: randomBytes(32).toString('base64') }));
    expect(await closed).toBeLessThan(1000);
    expect(await code).toBe(4001);
  });

  it('a connector that will not answer the close frame is cut off anyway, within 1 s of its bad hello', async () => {
    const { url } = await start();
    const ws = new WebSocket(url);
    const challenge = await new Promise<{ v: number }>((r) => ws.once('message', (d) => r(JSON.parse(d.toString()))));
    // a client that never answers the close frame (ws answers it through close(): silenced),
    // so only the acceptor cutting the socket closes it (ws alone would wait 30 s)
    ws.close = () => {};
    const closed = closedWithin(ws, 1000);
    ws.send(JSON.stringify({ t: 'hello', v: challenge.v, node: 'guess', inc: 1, nonce: randomBytes(32).toString('base64'), mac: randomBytes(32).toString('base64') }));
    expect(await closed).toBeLessThan(1000);
  });

  it('the connector refuses an acceptor that cannot prove it holds the secret', async () => {
    const wrong = new TextEncoder().encode('wrong');
    const accepted: NodeLink[] = [];
    server = await listenNodeLinks({ host: '127.0.0.1', port: 0 }, { name: 'imposter', incarnation: 1, secret: wrong }, { clock }, (l) => accepted.push(l));
    // the imposter rejects our hello (bad MAC) — and even if it did not, its welcome could not verify
    await expect(connectNodeLink(`ws://${server.address}`, { name: 'b', incarnation: 1, secret }, { clock })).rejects.toMatchObject({
      code: 'ERR_HANDSHAKE_FAILED',
    });
    expect(accepted).toEqual([]);
  });

  it.each([
    ['garbage text', (ws: WebSocket) => ws.send('garbage{')],
    ['a binary frame before the handshake', (ws: WebSocket) => ws.send(new Uint8Array([0, 1, 2, 3]))],
    ['a 2 MiB frame', (ws: WebSocket) => ws.send(new Uint8Array(2 * 1024 * 1024))],
  ])('a raw client sending %s is disconnected within 1 s (refused as malformed)', async (_what, misbehave) => {
    const rejected: LinkRefusal[] = [];
    const { url, accepted } = await start(rejected);
    const ws = new WebSocket(url);
    await new Promise<void>((r) => ws.once('message', () => r())); // the challenge
    const closed = closedWithin(ws, 1000);
    misbehave(ws);
    expect(await closed).toBeLessThan(1000);
    expect(accepted).toEqual([]);
    expect(rejected.map((r) => r.reason)).toEqual(['malformed']);
  });

  it('a peer that stays silent is disconnected at the handshake timeout', async () => {
    const rejected: LinkRefusal[] = [];
    const { url } = await start(rejected, 300);
    const ws = new WebSocket(url);
    const took = await closedWithin(ws, 2000);
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(1300);
    expect(rejected.map((r) => r.reason)).toEqual(['timeout']);
  });

  it('a peer speaking another protocol version is refused at the handshake, even with the right secret', async () => {
    const rejected: LinkRefusal[] = [];
    const { url, accepted } = await start(rejected);
    const ws = new WebSocket(url);
    const challenge = await new Promise<{ node: string; inc: number; nonce: string; v: number }>((r) => ws.once('message', (d) => r(JSON.parse(d.toString()))));
    const older = challenge.v - 1;
    const hello = { v: older, node: 'old', inc: 1, nonce: randomBytes(32).toString('base64') };
    const mac = createHmac('sha256', secret)
      .update(['connector', older, challenge.node, challenge.inc, challenge.nonce, hello.node, hello.inc, hello.nonce].join('\n'))
      .digest('base64');
    const closed = closedWithin(ws, 1000);
    ws.send(JSON.stringify({ t: 'hello', ...hello, mac }));
    expect(await closed).toBeLessThan(1000);
    expect(accepted).toEqual([]);
    expect(rejected).toEqual([expect.objectContaining({ reason: 'protocol', node: 'old' })]);
  });

  it('a connector meeting another protocol version refuses it and says so: the acceptor logs protocol, not a timeout', async () => {
    const rejected: LinkRefusal[] = [];
    const raw = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => raw.once('listening', () => r()));
    const code = new Promise<number>((resolve) =>
      raw.once('connection', (ws) => {
        ws.on('close', (c) => resolve(c));
        ws.send(JSON.stringify({ t: 'challenge', v: 1, node: 'old', inc: 1, nonce: randomBytes(32).toString('base64') }));
      }),
    );
    try {
      const { port } = raw.address() as { port: number };
      await expect(connectNodeLink(`ws://127.0.0.1:${port}`, { name: 'b', incarnation: 1, secret }, { clock }, (r) => rejected.push(r))).rejects.toMatchObject({
        code: 'ERR_HANDSHAKE_FAILED',
      });
      expect(rejected).toEqual([expect.objectContaining({ reason: 'protocol', node: 'old', peer: `127.0.0.1:${port}` })]);
      expect(await code).toBe(4002);
    } finally {
      for (const c of raw.clients) c.terminate();
      await new Promise<void>((r) => raw.close(() => r()));
    }
  });

  it('nothing listening is not a refusal: the connect fails (ECONNREFUSED) without a refusal reported', async () => {
    const rejected: LinkRefusal[] = [];
    const raw = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => raw.once('listening', () => r()));
    const { port } = raw.address() as { port: number };
    await new Promise<void>((r) => raw.close(() => r()));
    await expect(connectNodeLink(`ws://127.0.0.1:${port}`, { name: 'b', incarnation: 1, secret }, { clock }, (r) => rejected.push(r))).rejects.toThrow(/ECONNREFUSED/);
    expect(rejected).toEqual([]);
  });

  it('after the handshake a text frame closes the link (wire format: JSON challenge/hello/welcome, then binary only)', async () => {
    const { url, accepted } = await start();
    const ws = new WebSocket(url);
    const challenge = await new Promise<{ node: string; inc: number; nonce: string; v: number }>((r) => ws.once('message', (d) => r(JSON.parse(d.toString()))));
    const hello = { v: challenge.v, node: 'raw', inc: 1, nonce: randomBytes(32).toString('base64') };
    const mac = createHmac('sha256', secret)
      .update(['connector', challenge.v, challenge.node, challenge.inc, challenge.nonce, hello.node, hello.inc, hello.nonce].join('\n'))
      .digest('base64');
    const welcome = new Promise<{ t: string }>((r) => ws.once('message', (d) => r(JSON.parse(d.toString()))));
    ws.send(JSON.stringify({ t: 'hello', ...hello, mac }));
    expect((await welcome).t).toBe('welcome');
    for (let i = 0; i < 100 && accepted.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(accepted.map((l) => l.peer)).toEqual([{ name: 'raw', incarnation: 1 }]);
    const closed = closedWithin(ws, 1000);
    ws.send('a text frame after the handshake');
    expect(await closed).toBeLessThan(1000);
  });
});
