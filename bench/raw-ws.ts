/**
 * Raw ws baselines for the cross-node scenarios: the physical limit of a WebSocket link
 * between two processes on 127.0.0.1 on this machine (no apiary on either side).
 * - `cross-node-ask` / `raw`: one msgpack message out, one back, over one socket;
 * - `cross-node-throughput` / `raw`: 256 msgpack frames per binary ws frame, counted by the peer.
 * The apiary side (node links, added with the cluster) goes next to these: a second node in
 * a child process like {@link startRawWsPeer}'s, measured with the same pings and batch
 * counts, its rows appended in {@link crossNodeRaw}'s caller with system `apiary`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { WebSocket } from 'ws';
import { BatchWriter, Codec } from '../transport/codec.js';
import { Latency, throughput, throughputRow, yieldToLoop, type ScenarioResult } from './stats.js';
import { TICK } from './subject.js';

export interface CrossNodeOptions {
  pings: number;
  messages: number;
  iterations: number;
}

/** Frames per binary ws frame in the batched baseline. */
export const WS_BATCH = 256;
/** The sender waits while more than this is buffered in the socket. */
const HIGH_WATER = 4 * 1024 * 1024;

/** A child process running raw-ws-server.js; resolves once it listens. */
export async function startRawWsPeer(): Promise<{ url: string; close(): void }> {
  const child: ChildProcess = fork(new URL('./raw-ws-server.js', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`raw ws peer exited with code ${code}`)));
  });
  return { url: `ws://127.0.0.1:${port}`, close: () => void child.kill() };
}

export function connect(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.binaryType = 'nodebuffer';
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<Buffer> {
  return new Promise((resolve) => ws.once('message', (data: Buffer) => resolve(data)));
}

/** `n` ping-pongs of one msgpack message over `ws` (an /echo socket), recorded in `lat`. */
export async function wsPingPong(ws: WebSocket, n: number, lat: Latency): Promise<void> {
  const codec = new Codec();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const reply = nextMessage(ws);
    ws.send(codec.encode({ v: i, kind: 'ping' }));
    codec.decode(await reply);
    lat.recordMs(performance.now() - t0);
  }
}

async function peerCount(ws: WebSocket): Promise<number> {
  const reply = nextMessage(ws);
  ws.send('count');
  return Number(String(await reply));
}

/** Messages per second of `n` frames sent in batches of {@link WS_BATCH} over `ws` (a /count socket). */
export async function wsBatched(ws: WebSocket, n: number, iterations: number): Promise<number> {
  const codec = new Codec();
  const batch = new BatchWriter(64 * 1024);
  return throughput('raw batched ws', n, iterations, async () => {
    const before = await peerCount(ws);
    for (let i = 0; i < n; i++) {
      codec.append(batch, [0, 1, TICK, 2, null]);
      if (batch.frames === WS_BATCH) {
        ws.send(batch.take());
        if (ws.bufferedAmount > HIGH_WATER) while (ws.bufferedAmount > HIGH_WATER / 2) await yieldToLoop();
        else if ((i / WS_BATCH) % 32 === 0) await yieldToLoop();
      }
    }
    if (!batch.empty) ws.send(batch.take());
    const after = await peerCount(ws);
    if (after - before !== n) throw new Error(`raw batched ws: expected ${n} frames, peer counted ${after - before}`);
  });
}

/** The raw ws rows of both cross-node scenarios; the apiary rows come with the cluster. */
export async function crossNodeRaw(options: CrossNodeOptions): Promise<ScenarioResult> {
  const peer = await startRawWsPeer();
  const echo = await connect(`${peer.url}/echo`);
  const count = await connect(`${peer.url}/count`);
  try {
    await wsPingPong(echo, Math.min(500, options.pings / 10), new Latency());
    const lat = new Latency();
    await wsPingPong(echo, options.pings, lat);
    const tp = await wsBatched(count, options.messages, options.iterations);
    const remote = 'no remoting to compare (nact: none; comedy: "remote" mode needs its own listener, not wired here)';
    return {
      rows: [...lat.rows('cross-node-ask', 'raw'), throughputRow('cross-node-throughput', 'raw', tp)],
      notes: [
        { scenario: 'cross-node-*', system: 'nact, comedy', note: remote },
      ],
    };
  } finally {
    echo.close();
    count.close();
    peer.close();
  }
}
