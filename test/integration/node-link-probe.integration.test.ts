/**
 * Probe handshakes on 127.0.0.1 (what `apiary doctor` runs against each seed): a full mutual
 * HMAC handshake that tells the acceptor's identity and wall-clock time and never becomes a
 * link; a wrong secret is refused like any hello; a probe's MAC cannot be replayed as a join;
 * an ordinary connector still links as before.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { RealClock } from '../../dist/index.js';
import { connectNodeLink, listenNodeLinks, probeNodeLink, type LinkRefusal, type NodeLink, type NodeLinkServer } from '../../dist/transport/node-link.js';

const clock = new RealClock();
const secret = new TextEncoder().encode('correct horse battery staple');
let server: NodeLinkServer | undefined;
const links: NodeLink[] = [];

afterEach(async () => {
  for (const l of links.splice(0)) l.close();
  await server?.close();
  server = undefined;
});

async function start(): Promise<{ url: string; accepted: NodeLink[]; rejected: string[] }> {
  const accepted: NodeLink[] = [];
  const rejected: string[] = []; // refusal reasons
  server = await listenNodeLinks(
    { host: '127.0.0.1', port: 0 },
    { name: 'a', incarnation: 7, secret },
    { clock },
    (l) => (accepted.push(l), links.push(l)),
    (refusal: LinkRefusal) => rejected.push(refusal.reason),
  );
  return { url: `ws://${server.address}`, accepted, rejected };
}

const settle = () => new Promise((r) => setTimeout(r, 100));

describe('probe handshakes', () => {
  it("with the right secret tell the acceptor's name, incarnation and wall-clock time, and adopt no link", async () => {
    const { url, accepted, rejected } = await start();
    const before = Date.now();
    const r = await probeNodeLink(url, { name: 'doctor', incarnation: 1, secret }, { clock });
    const after = Date.now();
    expect(r).toMatchObject({ ok: true, peer: { name: 'a', incarnation: 7 } });
    if (!r.ok) return;
    expect(r.peerTime).toBeGreaterThanOrEqual(before);
    expect(r.peerTime).toBeLessThanOrEqual(after);
    expect(r.sentAt).toBeLessThanOrEqual(r.receivedAt);
    await settle();
    expect(accepted).toEqual([]);
    expect(rejected).toEqual([]);
  });

  it('with the wrong secret are refused by the acceptor (bad-secret), as any hello', async () => {
    const { url, accepted, rejected } = await start();
    const r = await probeNodeLink(url, { name: 'doctor', incarnation: 1, secret: new TextEncoder().encode('wrong') }, { clock });
    expect(r).toMatchObject({ ok: false, failure: 'refused' });
    expect(accepted).toEqual([]);
    expect(rejected).toEqual(['bad-secret']);
  });

  it('report a node that does not listen as unreachable', async () => {
    const { url } = await start();
    await server!.close();
    server = undefined;
    const r = await probeNodeLink(url, { name: 'doctor', incarnation: 1, secret }, { clock });
    expect(r).toMatchObject({ ok: false, failure: 'unreachable' });
  });

  it("cannot be replayed as a join: a hello carrying a probe's MAC without the probe flag is refused", async () => {
    const { url, accepted, rejected } = await start();
    const ws = new WebSocket(url);
    ws.on('error', () => {});
    const challenge = await new Promise<{ node: string; inc: number; nonce: string; v: number }>((r) => ws.once('message', (d) => r(JSON.parse(d.toString()))));
    const hello = { v: challenge.v, node: 'mallory', inc: 1, nonce: randomBytes(32).toString('base64') };
    const probeMac = createHmac('sha256', secret)
      .update(['probe', challenge.v, challenge.node, challenge.inc, challenge.nonce, hello.node, hello.inc, hello.nonce].join('\n'))
      .digest('base64');
    const closed = new Promise<void>((r) => ws.once('close', () => r()));
    ws.send(JSON.stringify({ t: 'hello', ...hello, mac: probeMac }));
    await closed;
    expect(accepted).toEqual([]);
    expect(rejected).toEqual(['bad-secret']);
  });

  it('leave ordinary links as they were: a connector still links and is adopted', async () => {
    const { url, accepted } = await start();
    const b = await connectNodeLink(url, { name: 'b', incarnation: 3, secret }, { clock });
    links.push(b);
    for (let i = 0; i < 100 && accepted.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(accepted.map((l) => l.peer)).toEqual([{ name: 'b', incarnation: 3 }]);
  });
});
