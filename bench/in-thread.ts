/**
 * In-thread scenarios: every system runs its actor on the caller's thread.
 * - `in-thread-ping-pong`: ask → reply round trip to one actor (p50/p99/p999 of
 *   `CHUNK`-round-trip means: a single in-thread round trip is shorter than a timer read);
 * - `in-thread-throughput`: one-way tells to one actor, counted there (tinybench, median run).
 * Systems: `raw` (a bare function-call queue), `apiary`, `nact`, `comedy` (in-memory mode;
 * a peer that is not installed is a note instead);
 * ping-pong also has `apiary` variant `router`: the same asks through a RouterActor
 * (round-robin over two echo actors), i.e. what one routing hop costs.
 */
import { RouterActor } from '../toolkit/router.js';
import { ActorSystem } from '../runtime/node/actor-system.js';
import { BenchTarget } from './actors.js';
import { comedySubject } from './peers/comedy.js';
import { peerInstalled, notInstalled } from './peers/load.js';
import { nactSubject } from './peers/nact.js';
import { Latency, throughputRow, type BenchNote, type ScenarioResult } from './stats.js';
import { apiarySubject, flood, pingPong, rawQueueSubject, type Subject } from './subject.js';

export interface InThreadOptions {
  /** Ping-pong samples per system. */
  pings: number;
  /** Tells per throughput run (the 1M). */
  messages: number;
  /** Throughput runs per system (median kept). */
  iterations: number;
}

const CHUNK = 8;
const ROUNDS = 5;

/** Starts the in-thread subjects (the peers that are installed); each scenario below runs them all. */
async function subjects(scenario: string): Promise<{ list: Subject[]; notes: BenchNote[]; close(): Promise<void> }> {
  const system = new ActorSystem();
  const list = [rawQueueSubject(), await apiarySubject(system)];
  const notes: BenchNote[] = [];
  if (peerInstalled('nact')) list.push(nactSubject());
  else notes.push(notInstalled('nact', scenario));
  if (peerInstalled('comedy')) list.push(await comedySubject('in-memory'));
  else notes.push(notInstalled('comedy', scenario));
  return {
    list,
    notes,
    close: async () => {
      for (const s of list) await s.stop();
      await system.stop();
    },
  };
}

/** apiary's asks through a RouterActor, round-robin over two echo actors (ping-pong only). */
async function routerSubject(): Promise<Subject> {
  const system = new ActorSystem();
  const routees = [await system.spawn(BenchTarget), await system.spawn(BenchTarget)];
  const router = await system.spawn(RouterActor, { args: { strategy: 'round-robin', routees } });
  return {
    system: 'apiary (router)',
    ask: (v) => router.ask(v),
    tell: (msg) => void router.tell(msg),
    counted: () => Promise.reject(new Error('not used')),
    stop: () => system.stop(),
  };
}

export async function inThreadPingPong(options: InThreadOptions): Promise<ScenarioResult> {
  const { list, notes, close } = await subjects('in-thread-ping-pong');
  const router = await routerSubject();
  try {
    const all = [...list, router];
    const lat = new Map(all.map((s) => [s.system, new Latency()]));
    for (const s of all) await pingPong(s, Math.min(1000, options.pings / 10), new Latency(), CHUNK); // warm-up
    // alternate systems in rounds so each sees the same machine (it is shared and noisy)
    for (let r = 0; r < ROUNDS; r++) for (const s of all) await pingPong(s, options.pings / ROUNDS, lat.get(s.system)!, CHUNK);
    const rows = list.flatMap((s) => lat.get(s.system)!.rows('in-thread-ping-pong', s.system));
    rows.push(...lat.get(router.system)!.rows('in-thread-ping-pong', 'apiary', 'router'));
    return { rows, notes };
  } finally {
    await router.stop();
    await close();
  }
}

export async function inThreadThroughput(options: InThreadOptions): Promise<ScenarioResult> {
  const { list, notes, close } = await subjects('in-thread-throughput');
  try {
    const rows = [];
    for (const s of list) rows.push(throughputRow('in-thread-throughput', s.system, await flood(s, options.messages, options.iterations)));
    return { rows, notes };
  } finally {
    await close();
  }
}
