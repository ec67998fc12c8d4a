/**
 * Cross-thread scenarios, each beside its raw baseline measured in the same run:
 * - `cross-thread-ping-pong`: raw MessagePort ping-pong RTT vs an ask to an actor on a
 *   worker thread (main → worker → main), apiary and comedy's threaded mode; variant `spin`:
 *   `raw` = the SharedArrayBuffer ring limit (msgpack frames copied through a ring, both
 *   threads busy-polling), `apiary` = the same ask with `lowLatency: true`;
 * - `cross-thread-throughput`: raw batched msgpack over postMessage (1000 frames per post,
 *   transferred) vs one-way tells to an actor on a worker thread, counted there (variant
 *   `spin`: with `lowLatency: true`).
 * CPU cost: cores busy (process CPU time ÷ wall time) during each system's ping-pong, in a note.
 */
import { Worker } from 'node:worker_threads';
import { ActorSystem } from '../runtime/node/actor-system.js';
import { BatchWriter, Codec } from '../transport/codec.js';
import { ASK } from '../transport/frames.js';
import { createRingBuffer, ringEnds } from '../transport/spin-ring.js';
import { LOW_LATENCY_DEFAULTS } from '../transport/spinner.js';
import { comedySubject } from './peers/comedy.js';
import { notInstalled, peerInstalled } from './peers/load.js';
import { CoresBusy, Latency, throughput, throughputRow, yieldToLoop, type BenchRow, type ScenarioResult } from './stats.js';
import { apiarySubject, flood, pingPong, TICK, type Subject } from './subject.js';

export interface CrossThreadOptions {
  pings: number;
  messages: number;
  iterations: number;
}

const RAW_WORKER = new URL('./raw-worker.js', import.meta.url);
const SPIN_WORKER = new URL('./raw-spin-worker.js', import.meta.url);
/**
 * Rounds of ping-pong per system. Wake-up latency here is bimodal (~15 µs or ~50 µs per
 * round trip, switching every few hundred ms with the OS's thread placement), so many short
 * rounds let every system sample both modes.
 */
const ROUNDS = 20;
/** comedy's threaded mode moves ~0.1M msg/s: it gets this fraction of the messages. */
const COMEDY_SHARE = 10;

function once<T>(w: Worker): Promise<T> {
  return new Promise((resolve) => w.once('message', resolve));
}

/** A bare worker that echoes numbers: the MessagePort round trip with nothing else. */
function rawPortSubject(w: Worker): Subject {
  return {
    system: 'raw',
    ask: (v) => {
      const answer = once(w);
      w.postMessage(v);
      return answer;
    },
    tell: () => {
      throw new Error('raw: tells go in batches (rawBatched)');
    },
    counted: async () => {},
    stop: async () => void (await w.terminate()),
  };
}

/** Batched msgpack over postMessage: the cross-thread throughput limit. */
async function rawBatched(w: Worker, n: number, iterations: number): Promise<number> {
  const codec = new Codec();
  const batch = new BatchWriter(64 * 1024);
  const perBatch = 1000;
  return throughput('raw batched postMessage', n, iterations, async () => {
    w.postMessage('count');
    const before = await once<number>(w);
    for (let i = 0; i < n; i++) {
      codec.append(batch, [0, 1, TICK, 2, null]);
      if (batch.frames === perBatch) {
        const data = batch.take();
        w.postMessage(data, [data.buffer as ArrayBuffer]);
        if ((i / perBatch) % 8 === 0) await yieldToLoop(); // as a runtime would between turns
      }
    }
    if (!batch.empty) {
      const data = batch.take();
      w.postMessage(data, [data.buffer as ArrayBuffer]);
    }
    w.postMessage('count');
    const after = await once<number>(w);
    if (after - before !== n) throw new Error(`raw batched: expected ${n} frames, worker counted ${after - before}`);
  });
}

/**
 * The busy-polling limit with a payload (docs/architecture.md § Facts): an ask-sized frame
 * `[ASK, target, n, priority, null, ask id]` is msgpack-encoded (apiary's codec, one batch
 * copied out of msgpackr's buffer), copied into a SharedArrayBuffer ring (transport/
 * spin-ring.ts, length-prefixed, tail published with Atomics), busy-polled by the worker,
 * copied out into a private buffer and decoded there; the `[REPLY, id, n]` answer comes back
 * the same way and is decoded and checked here. Both threads spin the whole time: no
 * wake-up, no event loop, no actor. This thread blocks while it measures.
 */
async function rawSpin(n: number, lat: Latency): Promise<void> {
  const shared = createRingBuffer(LOW_LATENCY_DEFAULTS.ringBytes);
  const { out, in: inbound } = ringEnds(shared, true);
  const codec = new Codec();
  const batch = new BatchWriter(4096);
  const w = new Worker(SPIN_WORKER, { workerData: shared });
  await new Promise((resolve) => w.once('online', resolve));
  try {
    for (let i = 1; i <= n; i++) {
      const t0 = performance.now();
      codec.append(batch, [ASK, 1, i, 2, null, i]);
      if (!out.tryWrite(batch.take())) throw new Error('raw spin: ring full');
      while (!inbound.hasData());
      const reply = codec.decodeBatch(inbound.read() as Uint8Array)[0] as [number, number, number];
      if (reply[2] !== i) throw new Error(`raw spin: expected ${i}, got ${String(reply[2])}`);
      if (i > n / 10) lat.recordMs(performance.now() - t0); // the first tenth warms up
    }
  } finally {
    await w.terminate();
  }
}

/**
 * Baselines and systems alternate in rounds, so all see the same machine (its wake-up
 * latency swings between runs); all rounds are pooled for latency. The low-latency mode
 * runs afterwards in a system of its own (one apiary system per thread at a time).
 */
export async function crossThread(options: CrossThreadOptions): Promise<ScenarioResult> {
  const worker = new Worker(RAW_WORKER);
  const system = await ActorSystem.start({ threads: 1 });
  const apiary = await apiarySubject(system, 1);
  const comedy = peerInstalled('comedy') ? await comedySubject('threaded') : undefined;
  const list: Subject[] = [rawPortSubject(worker), apiary, ...(comedy === undefined ? [] : [comedy])];
  const rows: BenchRow[] = [];
  const cores = new Map(['raw', 'apiary', 'comedy', 'raw (spin)', 'apiary (spin)'].map((k) => [k, new CoresBusy()]));
  const comedyMessages = Math.max(1000, options.messages / COMEDY_SHARE);
  try {
    const lat = new Map(list.map((s) => [s.system, new Latency()]));
    const warm = Math.min(500, options.pings / 10);
    for (const s of list) await pingPong(s, warm, new Latency());
    for (let r = 0; r < ROUNDS; r++) {
      for (const s of list) await cores.get(s.system)!.measure(() => pingPong(s, options.pings / ROUNDS, lat.get(s.system)!));
    }
    rows.push(...list.flatMap((s) => lat.get(s.system)!.rows('cross-thread-ping-pong', s.system)));
    const spin = new Latency();
    await cores.get('raw (spin)')!.measure(() => rawSpin(options.pings, spin));
    rows.push(...spin.rows('cross-thread-ping-pong', 'raw', 'spin'));
    rows.push(throughputRow('cross-thread-throughput', 'raw', await rawBatched(worker, options.messages, options.iterations)));
    rows.push(throughputRow('cross-thread-throughput', 'apiary', await flood(apiary, options.messages, options.iterations)));
    if (comedy !== undefined) rows.push(throughputRow('cross-thread-throughput', 'comedy', await flood(comedy, comedyMessages, options.iterations)));
  } finally {
    for (const s of list) await s.stop();
    await system.stop();
  }
  rows.push(...(await lowLatency(options, cores.get('apiary (spin)')!)));
  const busy = [...cores].filter(([k]) => k !== 'comedy' || comedy !== undefined).map(([k, c]) => `${k} ${c.cores.toFixed(2)}`).join(', ');
  const noThreads = 'nact runs in-process only (no worker threads)';
  return {
    rows,
    notes: [
      { scenario: 'cross-thread-*', system: 'nact', note: noThreads },
      comedy === undefined
        ? notInstalled('comedy', 'cross-thread-*')
        : { scenario: 'cross-thread-throughput', system: 'comedy', note: `threaded mode, ${comedyMessages} messages per run (≈0.1M msg/s)` },
      { scenario: 'cross-thread-ping-pong', system: 'apiary (spin)', note: `lowLatency: true (spin ${LOW_LATENCY_DEFAULTS.spinMicros} µs before parking); vs baseline = vs raw (spin), the SharedArrayBuffer ring with msgpack frames` },
      { scenario: 'cross-thread-ping-pong', system: 'all', note: `cores busy while pinging (process CPU time of all threads ÷ wall time): ${busy}` },
    ],
  };
}

/** apiary with `lowLatency: true`: ping-pong RTT (variant `spin`) and tell throughput. */
async function lowLatency(options: CrossThreadOptions, cores: CoresBusy): Promise<BenchRow[]> {
  const system = await ActorSystem.start({ threads: 1, lowLatency: true });
  const subject = await apiarySubject(system, 1);
  try {
    const lat = new Latency();
    await pingPong(subject, Math.min(500, options.pings / 10), new Latency());
    for (let r = 0; r < ROUNDS; r++) await cores.measure(() => pingPong(subject, options.pings / ROUNDS, lat));
    return [
      ...lat.rows('cross-thread-ping-pong', 'apiary', 'spin'),
      throughputRow('cross-thread-throughput', 'apiary', await flood(subject, options.messages, options.iterations), 'spin'),
    ];
  } finally {
    await subject.stop();
    await system.stop();
  }
}
