/**
 * `backpressure`: a producer at full speed → a consumer that takes 1 ms per message (an async
 * receive), for a fixed time. Rows per system and variant: `rss-growth` (bytes: the highest
 * RSS of the receiving node during the run minus its RSS just before) and `throughput`
 * (msg/s the consumer handled). The producer sends `{ seq, kind }` in slices of 4096, yielding
 * to the event loop between slices, and does not wait when refused (it counts the refusals,
 * in a note): what matters is what the receiving side holds.
 * Variants: `cross-thread` (consumer on a worker thread: the whole process is the receiving
 * node, the producer's side of the link included) and `cross-node` (consumer on another node,
 * a child process on 127.0.0.1, whose RSS is measured).
 * Systems: `apiary` (its flow control and link bounds, default settings) and `raw`, a bare
 * bounded queue: an array of at most RAW_CAPACITY messages on the producer's side (a full one
 * refuses), from which the consumer pulls batches of 1000 (postMessage between threads,
 * msgpack over a bare ws between nodes).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { WebSocket } from 'ws';
import type { ActorRef } from '../actors/actor-ref.js';
import { ActorSystem } from '../runtime/node/actor-system.js';
import { BatchWriter, Codec } from '../transport/codec.js';
import { BenchCount, BenchSlow } from './actors.js';
import { round, throughputRow, yieldToLoop, type BenchNote, type BenchRow, type ScenarioResult } from './stats.js';

export interface BackpressureOptions {
  /** How long each system floods, per variant, seconds. */
  seconds: number;
}

const SCENARIO = 'backpressure';
/** The raw baseline's bounded queue, messages. */
export const RAW_CAPACITY = 10_000;
const SLICE = 4096;
const PEER = fileURLToPath(new URL('./backpressure-peer.js', import.meta.url));
const RAW_WORKER = new URL('./raw-slow-worker.js', import.meta.url);

interface Run {
  /** Peak RSS minus RSS before, bytes. */
  growth: number;
  /** Messages the consumer handled per second. */
  rate: number;
  refused: number;
  accepted: number;
}

/** Floods through `send` (false: refused) for `seconds`; counts accepted and refused. */
async function produce(send: (msg: unknown) => boolean, seconds: number, afterSlice?: () => void): Promise<{ accepted: number; refused: number }> {
  let seq = 0;
  let accepted = 0;
  let refused = 0;
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < SLICE; i++) {
      if (send({ seq: seq++, kind: 'tick' })) accepted++;
      else refused++;
    }
    afterSlice?.();
    await yieldToLoop();
  }
  return { accepted, refused };
}

/** This process's highest RSS while `work` runs, minus its RSS before. */
async function ownGrowth<T>(work: () => Promise<T>): Promise<{ growth: number; result: T }> {
  const base = process.memoryUsage.rss();
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  try {
    const result = await work();
    return { growth: Math.max(peak, process.memoryUsage.rss()) - base, result };
  } finally {
    clearInterval(sampler);
  }
}

/** A bounded array queue on the producer's side; `serve(n)` hands the consumer up to `n`. */
class BoundedQueue {
  private items: unknown[] = [];
  private head = 0;
  /** A pull the queue could not serve yet (it was empty). */
  owed = 0;
  offer(m: unknown): boolean {
    if (this.items.length - this.head >= RAW_CAPACITY) return false;
    this.items.push(m);
    return true;
  }
  take(n: number): unknown[] {
    const out = this.items.slice(this.head, this.head + n);
    this.head += out.length;
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return out;
  }
}

// ---- cross-thread ------------------------------------------------------------------------------

async function apiaryThread(seconds: number): Promise<Run> {
  const system = await ActorSystem.start({ threads: 1, spareThreads: 0 });
  try {
    const count = (await system.spawn(BenchCount)) as ActorRef<unknown, number>;
    const slow = await system.spawn(BenchSlow, { thread: 1 });
    slow.tell({ reporter: count });
    await new Promise((r) => setTimeout(r, 100));
    const before = await count.ask('read');
    const t0 = performance.now();
    const { growth, result } = await ownGrowth(() => produce((m) => slow.tell(m), seconds));
    const handled = (await count.ask('read')) - before;
    return { growth, rate: handled / ((performance.now() - t0) / 1000), ...result };
  } finally {
    await system.stop();
  }
}

async function rawThread(seconds: number): Promise<Run> {
  const worker = new Worker(RAW_WORKER);
  const queue = new BoundedQueue();
  const counts: ((n: number) => void)[] = [];
  worker.on('message', (m: { pull?: number; count?: number }) => {
    if (m.count !== undefined) return counts.shift()?.(m.count);
    const batch = queue.take(m.pull!);
    if (batch.length > 0) worker.postMessage(batch);
    else queue.owed = m.pull!;
  });
  const read = () => new Promise<number>((resolve) => (counts.push(resolve), worker.postMessage('count')));
  try {
    await new Promise((r) => setTimeout(r, 100));
    const before = await read();
    const t0 = performance.now();
    const serveOwed = (): void => {
      if (queue.owed === 0) return;
      const batch = queue.take(queue.owed);
      if (batch.length === 0) return;
      queue.owed = 0;
      worker.postMessage(batch);
    };
    const { growth, result } = await ownGrowth(() => produce((m) => queue.offer(m), seconds, serveOwed));
    const handled = (await read()) - before;
    return { growth, rate: handled / ((performance.now() - t0) / 1000), ...result };
  } finally {
    await worker.terminate();
  }
}

// ---- cross-node --------------------------------------------------------------------------------

interface Peer {
  url: string;
  raw: string;
  /** Starts measuring its RSS. */
  mark(): Promise<void>;
  /** Its highest RSS since `mark`, minus its RSS then. */
  growth(): Promise<number>;
  stop(): void;
}

async function startPeer(secret: string): Promise<Peer> {
  const child = spawn(process.execPath, [PEER, secret], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  let exited: Error | undefined;
  const waiters: { pattern: RegExp; resolve: (m: RegExpExecArray) => void; reject: (err: Error) => void }[] = [];
  const check = (): void => {
    for (const w of [...waiters]) {
      const m = w.pattern.exec(out);
      if (m) {
        out = out.slice(m.index + m[0].length);
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      } else if (exited !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.reject(exited);
      }
    }
  };
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    check();
  });
  child.once('exit', (code) => {
    exited = new Error(`backpressure peer exited with ${code}`);
    check();
  });
  /** The next output matching `pattern` (what came before it is consumed). */
  const next = (pattern: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      waiters.push({ pattern, resolve, reject });
      check();
    });
  const ready = await next(/READY (ws:\/\/\S+) (ws:\/\/\S+)\n/);
  return {
    url: ready[1]!,
    raw: ready[2]!,
    mark: async () => {
      child.stdin!.write('mark\n');
      await next(/MARKED\n/);
    },
    growth: async () => {
      child.stdin!.write('peak\n');
      const m = await next(/PEAK (\d+) (\d+)\n/);
      return Number(m[2]) - Number(m[1]);
    },
    stop: () => child.stdin!.end(),
  };
}

async function apiaryNode(peer: Peer, secret: string, seconds: number): Promise<Run> {
  const system = new ActorSystem({ name: 'bench', threads: 0, cluster: { seeds: [peer.url], secret: new TextEncoder().encode(secret) } });
  try {
    await system.ready();
    for (let i = 0; i < 500 && !system.members().some((m) => m.node === 'bench-peer' && m.state === 'up'); i++) await new Promise((r) => setTimeout(r, 10));
    const count = (await system.spawn(BenchCount)) as ActorRef<unknown, number>;
    const slow = await system.spawn(BenchSlow, { node: 'bench-peer' });
    slow.tell({ reporter: count });
    await new Promise((r) => setTimeout(r, 100));
    const before = await count.ask('read');
    await peer.mark();
    const t0 = performance.now();
    const result = await produce((m) => slow.tell(m), seconds);
    const growth = await peer.growth();
    const handled = (await count.ask('read')) - before;
    return { growth, rate: handled / ((performance.now() - t0) / 1000), ...result };
  } finally {
    await system.stop();
  }
}

async function rawNode(peer: Peer, seconds: number): Promise<Run> {
  const ws = new WebSocket(peer.raw, { perMessageDeflate: false });
  const codec = new Codec();
  const queue = new BoundedQueue();
  const counts: ((n: number) => void)[] = [];
  const send = (items: unknown[]): void => {
    const batch = new BatchWriter(64 * 1024);
    for (const m of items) codec.append(batch, m);
    ws.send(batch.take());
  };
  ws.on('message', (data) => {
    const [what, n] = data.toString().split(' ');
    if (what === 'count') return counts.shift()?.(Number(n));
    const items = queue.take(Number(n));
    if (items.length > 0) send(items);
    else queue.owed = Number(n);
  });
  const read = () => new Promise<number>((resolve) => (counts.push(resolve), ws.send('count')));
  // (listening before it opens: the consumer's first pull comes at once)
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  try {
    await new Promise((r) => setTimeout(r, 100));
    const before = await read();
    await peer.mark();
    const t0 = performance.now();
    const serveOwed = (): void => {
      if (queue.owed === 0) return;
      const items = queue.take(queue.owed);
      if (items.length === 0) return;
      queue.owed = 0;
      send(items);
    };
    const result = await produce((m) => queue.offer(m), seconds, serveOwed);
    const growth = await peer.growth();
    const handled = (await read()) - before;
    return { growth, rate: handled / ((performance.now() - t0) / 1000), ...result };
  } finally {
    ws.close();
  }
}

function rows(system: string, variant: string, r: Run): BenchRow[] {
  return [
    { scenario: SCENARIO, system, metric: 'rss-growth', value: Math.max(0, Math.round(r.growth)), unit: 'bytes', variant },
    throughputRow(SCENARIO, system, r.rate, variant),
  ];
}

function note(system: string, variant: string, r: Run): BenchNote {
  const refusedShare = r.refused / Math.max(1, r.accepted + r.refused);
  return { scenario: `${SCENARIO} (${variant})`, system, note: `producer: ${round(r.accepted)} accepted, ${round(r.refused)} refused (${(refusedShare * 100).toFixed(2)} %)` };
}

export async function backpressure(options: BackpressureOptions): Promise<ScenarioResult> {
  const out: BenchRow[] = [];
  const notes: BenchNote[] = [];
  const record = (system: string, variant: string, r: Run): void => {
    out.push(...rows(system, variant, r));
    notes.push(note(system, variant, r));
  };
  record('raw', 'cross-thread', await rawThread(options.seconds));
  record('apiary', 'cross-thread', await apiaryThread(options.seconds));
  const secret = randomBytes(16).toString('hex');
  const peer = await startPeer(secret);
  try {
    record('raw', 'cross-node', await rawNode(peer, options.seconds));
    record('apiary', 'cross-node', await apiaryNode(peer, secret, options.seconds));
  } finally {
    peer.stop();
  }
  notes.push({
    scenario: SCENARIO,
    system: 'all',
    note: `a consumer taking 1 ms per message, a producer at full speed for ${options.seconds} s; raw = a bounded array of ${RAW_CAPACITY} messages the consumer pulls from; rss-growth: the receiving node (cross-thread: the whole process)`,
  });
  return { rows: out, notes };
}
