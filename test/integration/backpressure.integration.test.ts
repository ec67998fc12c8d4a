/**
 * Bounded memory, end to end (DESIGN §3 "Bounded memory"; README § Mailboxes): no producer —
 * on another thread, on another node, or a peer that never reads — grows the receiving node
 * without bound. Past the bound the sender is refused with a stable code (`tell` false,
 * `ERR_BACKPRESSURE`) and every refusal is a counted dead letter; answers past a link's bound
 * are dropped and counted too; dead letters on worker threads are counted like the main
 * thread's. Real worker threads and real child processes on 127.0.0.1.
 *
 * SLOW: the two floods run for 10 s each (child processes), as the issue asks.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ActorSystem, startAdminServer, type AdminServer } from '../../dist/index.js';
import { Dawdler } from '../fixtures/backpressure-agents.mjs';
import { startNode, type NodeProcess } from './processes.js';
import { eventually } from './threads-support.js';

const NODE = fileURLToPath(new URL('../fixtures/backpressure-node.mjs', import.meta.url));
const SILENT_PEER = fileURLToPath(new URL('../fixtures/backpressure-silent-peer.mjs', import.meta.url));
const MiB = 1024 * 1024;
/** The README's bound: one producer at full speed cannot grow a node by more than this (default settings). */
const BOUND = 96 * MiB;
/** A node link's outbound bound (cluster `maxQueuedBytes`, default 64 MiB). */
const LINK_BOUND = 64 * MiB;

const procs: NodeProcess[] = [];
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) p.dispose();
  for (const c of cleanup.splice(0)) await c();
});

function start(args: string[]): NodeProcess {
  const p = startNode(args);
  procs.push(p);
  return p;
}

/** The last `TAG {json}` line a process printed. */
function last<T>(p: NodeProcess, tag: string): T {
  const lines = p.stdout().split('\n').filter((l) => l.startsWith(`${tag} `));
  if (lines.length === 0) throw new Error(`no ${tag} line in:\n${p.stdout()}${p.stderr()}`);
  return JSON.parse(lines[lines.length - 1]!.slice(tag.length + 1)) as T;
}

/** Resident memory of process `pid` (Linux /proc), bytes. */
function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/** Samples `pid`'s RSS every 100 ms until `done` settles; the highest seen. */
async function peakRss(pid: number, done: Promise<unknown>): Promise<number> {
  let peak = rssOf(pid);
  let over = false;
  void done.finally(() => (over = true));
  while (!over) {
    peak = Math.max(peak, rssOf(pid));
    await new Promise((r) => setTimeout(r, 100));
  }
  return Math.max(peak, rssOf(pid));
}

/** `apiary_dead_letters_total{reason}` from a /metrics text. */
function deadLetters(metrics: string, reason: string): number {
  const m = new RegExp(`^apiary_dead_letters_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(metrics);
  return m ? Number(m[1]) : 0;
}

interface Flood {
  accepted: number;
  refused: number;
  askCodes: Record<string, number>;
  deadLetters: Record<string, number>;
}

interface Tally {
  count: number;
  outOfOrder: number;
  deadLetters: Record<string, number>;
}

describe('a producer at full speed and a consumer taking 1 ms per message', () => {
  it('SLOW (10 s): from the main thread to an actor on a worker thread, the node grows by less than the bound; tells past it are refused (false), asks reject ERR_BACKPRESSURE, each refusal is a counted dead letter, and what was accepted arrives in order', async () => {
    const p = start([NODE, JSON.stringify({ mode: 'thread-flood', seconds: 10 })]);
    await p.waitFor(/^RESULT /m, 25_000);
    const r = last<Flood & { maxRss: number; baseRss: number; tally: Tally; scraped: number }>(p, 'RESULT');
    expect(r.maxRss - r.baseRss).toBeLessThan(BOUND);
    expect(r.accepted).toBeGreaterThan(0);
    expect(r.refused).toBeGreaterThan(0);
    expect(Object.keys(r.askCodes)).toEqual(['ERR_BACKPRESSURE']);
    const refusals = r.refused + r.askCodes.ERR_BACKPRESSURE!;
    expect(r.deadLetters).toEqual({ 'link-overflow': refusals });
    expect(r.scraped).toBe(refusals);
    expect(r.tally.count).toBeGreaterThan(1000);
    expect(r.tally.outOfOrder).toBe(0);
  }, 30_000);

  it('SLOW (10 s): from one node to an actor on another node, the receiving node grows by less than the bound, drops nothing, and gets in order what the sender accepted; the sender sees refusals (false, ERR_BACKPRESSURE), each a counted dead letter', async () => {
    const receiver = start([NODE, JSON.stringify({ mode: 'receiver' })]);
    await receiver.waitFor(/^READY /m, 10_000);
    const { url, pid } = last<{ url: string; pid: number }>(receiver, 'READY');
    const producer = start([NODE, JSON.stringify({ mode: 'producer', seed: url, seconds: 10 })]);
    await producer.waitFor(/^READY \{"sink":true\}/m, 10_000);
    const base = rssOf(pid);
    producer.send('go');
    const peak = await peakRss(pid, producer.waitFor(/^RESULT /m, 25_000));
    const r = last<Flood>(producer, 'RESULT');
    expect(peak - base).toBeLessThan(BOUND);
    expect(r.accepted).toBeGreaterThan(0);
    expect(r.refused).toBeGreaterThan(0);
    expect(Object.keys(r.askCodes)).toEqual(['ERR_BACKPRESSURE']);
    expect(r.deadLetters).toEqual({ 'link-overflow': r.refused + r.askCodes.ERR_BACKPRESSURE! });
    const tally = last<Tally>(receiver, 'TALLY');
    expect(tally.count).toBeGreaterThan(1000);
    expect(tally.outOfOrder).toBe(0);
    expect(tally.deadLetters).toEqual({});
  }, 30_000);
});

describe('a peer that never reads', () => {
  it('asking for 300 MB of answers does not grow the node beyond its link bound: answers past it are dropped and counted (link-overflow), and the node stays healthy', async () => {
    const node = start([NODE, JSON.stringify({ mode: 'receiver' })]);
    await node.waitFor(/^READY /m, 10_000);
    const { url, http, pid } = last<{ url: string; http: string; pid: number }>(node, 'READY');
    const base = rssOf(pid);
    const peer = start([SILENT_PEER, JSON.stringify({ url, secret: 'backpressure-secret', asks: 3000, bytes: 100_000 })]);
    await peer.waitFor(/^SENT$/m, 10_000);
    // the node answers as fast as it can; give it time to try them all
    const peak = await peakRss(pid, new Promise((r) => setTimeout(r, 3000)));
    expect(peak - base).toBeLessThan(LINK_BOUND);
    const metrics = await (await fetch(`http://${http}/metrics`)).text();
    expect(deadLetters(metrics, 'link-overflow')).toBeGreaterThan(2000);
    expect((await fetch(`http://${http}/health`)).status).toBe(200);
  }, 30_000);
});

describe('dead letters on a worker thread', () => {
  let system: ActorSystem | undefined;
  let admin: AdminServer | undefined;
  afterEach(async () => {
    await admin?.close();
    await system?.stop();
    system = admin = undefined;
  });

  it('are counted in /metrics apiary_dead_letters_total (every one), and reach events$ sampled', async () => {
    system = await ActorSystem.start({ threads: 1, spareThreads: 0 });
    admin = await startAdminServer(system, { host: '127.0.0.1', port: 0 });
    const events: string[] = [];
    system.events$.subscribe((e) => {
      if (e.type === 'dead-letter' && e.reason === 'dropped-newest') events.push(e.recipient);
    });
    const slow = await system.spawn(Dawdler, { thread: 1, mailbox: { capacity: 1000 } });
    let accepted = 0;
    for (let i = 0; i < 100_000; i++) {
      if (slow.tell(i)) accepted++;
      if (i % 4096 === 4095) await new Promise((r) => setImmediate(r));
    }
    // once the mailbox has room again, it answers how many it processed; the rest were dropped
    // there (an ask that finds it still full is dropped too, and counted)
    let askedTooSoon = 0;
    const processed = await eventually(
      () => slow.ask('count', { timeout: 5000 }).then((n) => n as number, () => void askedTooSoon++),
      10_000,
    );
    const dropped = accepted - processed + askedTooSoon;
    expect(dropped).toBeGreaterThan(50_000);
    await eventually(async () => deadLetters(await (await fetch(`http://${admin!.address}/metrics`)).text(), 'dropped-newest') === dropped, 5000);
    expect(events.length).toBeGreaterThan(0);
    expect(events.length).toBeLessThanOrEqual(300);
    expect(new Set(events)).toEqual(new Set([slow.path]));
  }, 30_000);
});
