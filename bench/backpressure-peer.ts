/**
 * The other node of the `backpressure` scenario (cross-node): a cluster node on 127.0.0.1
 * that hosts what the benchmark spawns on it, plus the raw baseline's consumer — a bare ws
 * server that pulls messages from the producer's bounded queue (`pull N` when fewer than half
 * of N wait here) and takes 1 ms per message (`count` answers how many). It samples its own
 * RSS every 20 ms: `mark` on stdin starts a measurement (answers `MARKED`), `peak` ends it
 * (answers `PEAK <rss at mark> <highest rss since>`). Prints `READY ws://… ws://…`; exits when
 * its stdin closes.
 * Usage: node dist/bench/backpressure-peer.js SECRET
 */
import { createInterface } from 'node:readline';
import type { WebSocket } from 'ws';
import { Codec } from '../transport/codec.js';
import { servePeerNode } from './peer-node.js';

const PULL = 1000;
const codec = new Codec();
/** The raw baseline's consumer: pulls from the producer's bounded queue, 1 ms per message. */
const consume = (ws: WebSocket): void => {
  const waiting: unknown[] = [];
  let count = 0;
  let asked = false;
  let open = true;
  const pull = (): void => {
    if (!asked && waiting.length < PULL / 2) {
      asked = true;
      ws.send(`pull ${PULL}`);
    }
  };
  ws.on('message', (data, isBinary) => {
    if (!isBinary) return void ws.send(`count ${count}`);
    for (const m of codec.decodeBatch(data as Buffer)) waiting.push(m);
    asked = false;
    pull();
  });
  ws.on('close', () => (open = false));
  void (async () => {
    while (open) {
      if (waiting.shift() !== undefined) count++;
      pull();
      await new Promise((r) => setTimeout(r, 1));
    }
  })();
};

let base = process.memoryUsage.rss();
let peak = base;
setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20).unref();
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'mark') {
    base = peak = process.memoryUsage.rss();
    process.stdout.write('MARKED\n');
  } else if (line === 'peak') {
    peak = Math.max(peak, process.memoryUsage.rss());
    process.stdout.write(`PEAK ${base} ${peak}\n`);
  }
});
await servePeerNode(process.argv[2] ?? '', consume);
