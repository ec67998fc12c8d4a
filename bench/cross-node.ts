/**
 * Cross-node scenarios (two processes, ws on 127.0.0.1), each beside its raw baseline in the
 * same run against the same peer process:
 * - `cross-node-ask`: raw ws ping-pong RTT vs apiary ask RTT to an actor spawned there;
 * - `cross-node-throughput`: raw batched ws (256 msgpack frames per ws frame, compression
 *   off) vs apiary tells to an actor there (one-way, completion confirmed by its count).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import type { ActorRef } from '../actors/actor-ref.js';
import { BatchWriter, Codec } from '../transport/codec.js';
import { ActorSystem } from '../runtime/node/actor-system.js';
import { BenchTarget } from './actors.js';
import { Latency, round, type BenchRow } from './stats.js';

export interface CrossNodeOptions {
  pings: number;
  messages: number;
}

const PEER = fileURLToPath(new URL('./cross-node-peer.js', import.meta.url));

/** Starts the peer process; resolves with its ws URL and a function that ends it. */
async function startPeer(secret: string): Promise<{ url: string; raw: string; stop(): void }> {
  const child = spawn(process.execPath, [PEER, secret], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const [url, raw] = await new Promise<[string, string]>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (ws:\/\/\S+) (ws:\/\/\S+)/.exec(out);
      if (m) resolve([m[1]!, m[2]!]);
    });
    child.once('exit', (code) => reject(new Error(`bench peer exited with ${code}`)));
  });
  return { url, raw, stop: () => child.stdin!.end() };
}

async function untilUp(system: ActorSystem, node: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (system.members().some((m) => m.node === node && m.state === 'up')) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${node} did not come up`);
}

export async function crossNode(options: CrossNodeOptions): Promise<BenchRow[]> {
  const secret = randomBytes(16).toString('hex');
  const peer = await startPeer(secret);
  const system = new ActorSystem({ name: 'bench', threads: 0, cluster: { seeds: [peer.url], secret: new TextEncoder().encode(secret) } });
  let rawRows: BenchRow[];
  try {
    rawRows = await rawWs(peer.raw, options);
    await system.ready();
    await untilUp(system, 'bench-peer');
    const echo = await system.spawn(BenchTarget, { node: 'bench-peer' });
    const counter = await system.spawn(BenchTarget, { node: 'bench-peer' });
    const lat = new Latency();
    for (let i = 0; i < Math.min(500, options.pings); i++) await echo.ask(i);
    for (let i = 0; i < options.pings; i++) {
      const t0 = performance.now();
      await echo.ask(i);
      lat.recordMs(performance.now() - t0);
    }
    const throughput = await tells(counter as ActorRef<unknown, number | undefined>, options.messages);
    return [...rawRows, ...lat.rows('cross-node-ask', 'apiary'), { scenario: 'cross-node-throughput', system: 'apiary', metric: 'throughput', value: round(throughput), unit: 'msg/s' }];
  } finally {
    await system.stop();
    peer.stop();
  }
}

/** Sends `n` tells in chunks (yielding between them, as a busy actor would) and waits until all arrived. */
async function tells(ref: ActorRef<unknown, number | undefined>, n: number): Promise<number> {
  const base = (await ref.ask('count')) ?? 0;
  const t0 = performance.now();
  const chunk = 8192;
  for (let i = 0; i < n; i += chunk) {
    for (let j = i; j < Math.min(n, i + chunk); j++) ref.tell({ seq: j, kind: 'tick' });
    await new Promise((r) => setImmediate(r));
  }
  while (((await ref.ask('count', { timeout: 60_000 })) ?? 0) - base < n) await new Promise((r) => setTimeout(r, 1));
  return n / ((performance.now() - t0) / 1000);
}

/** The physical limit here: bare ws ping-pong RTT and batched one-way throughput to the same peer. */
async function rawWs(url: string, options: CrossNodeOptions): Promise<BenchRow[]> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  const next = () => new Promise<string>((r) => ws.once('message', (d) => r(d.toString())));
  const lat = new Latency();
  for (let i = 0; i < Math.min(500, options.pings) + options.pings; i++) {
    const t0 = performance.now();
    ws.send(String(i));
    await next();
    if (i >= Math.min(500, options.pings)) lat.recordMs(performance.now() - t0);
  }
  const codec = new Codec();
  const batch = new BatchWriter(64 * 1024);
  ws.send('count');
  const before = Number(await next());
  const t0 = performance.now();
  for (let i = 0; i < options.messages; i++) {
    codec.append(batch, [0, 0, 1, { seq: i, kind: 'tick' }, 2, null]);
    if (batch.frames === 256 || i === options.messages - 1) ws.send(batch.take());
    if (i % 8192 === 8191) await new Promise((r) => setImmediate(r));
  }
  for (;;) {
    ws.send('count');
    if (Number(await next()) - before >= options.messages) break;
  }
  const throughput = options.messages / ((performance.now() - t0) / 1000);
  ws.close();
  return [...lat.rows('cross-node-ask', 'raw'), { scenario: 'cross-node-throughput', system: 'raw', metric: 'throughput', value: round(throughput), unit: 'msg/s' }];
}
