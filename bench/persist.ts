/**
 * `persist`: events made durable per second by event-sourced actors (PersistentActor on the
 * embedded LmdbStore), beside `raw` — bare lmdb-js puts of the same records into a database
 * opened with the same (durable) settings, in the same run, awaited the same way.
 * - headline (no variant): 1,000 actors, each asked to persist one event per round, all
 *   asks of a round sent at once (so their appends share commits: group commit); `raw` = the
 *   same number of puts per round, all awaited together, then `flushed`. The two alternate in
 *   blocks of 5 rounds (the disk's fsync time drifts during a run; both see the same drift).
 * - variant `one-actor`: one actor persisting events one after the other (each ask awaited:
 *   one commit per event, the latency of a durable write); `raw` = one awaited put (+ flushed)
 *   at a time.
 * Rows: `throughput` (events/s, unit `msg/s`: one message persists one event), and p50/p99
 * of one ask (one-actor) or one round (1,000 actors). The systems alternate `REPEATS` times;
 * the median is reported. Data goes to a temporary directory, removed at the end.
 * The only bench file that imports `lmdb` (the raw baseline must not go through our store).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import type { ActorRef } from '../actors/actor-ref.js';
import { ActorSystem } from '../runtime/node/actor-system.js';
import { LmdbStore } from '../runtime/persistence/lmdb-store.js';
import { PersistentActor } from '../runtime/persistence/persistent-actor.js';
import { Latency, throughputRow, type BenchRow, type ScenarioResult } from './stats.js';

export interface PersistOptions {
  /** Events the single actor persists per repeat. */
  oneActorEvents: number;
  /** Actors of the headline figure. */
  actors: number;
  /** Rounds (one event per actor each) per repeat. */
  rounds: number;
}

const SCENARIO = 'persist';
const REPEATS = 3;
/** Rounds of one system before the other takes its turn (headline figure). */
const BLOCK = 5;

/** A typical small agent event (~120 bytes encoded). */
function eventOf(i: number): { type: string; amount: number; by: string; note: string } {
  return { type: 'deposited', amount: i, by: 'agent-7', note: 'monthly allowance, approved by the coordinator' };
}

/** Persists each message it gets as an event; answers the event's sequence number. */
class Ledger extends PersistentActor<unknown, number, number, unknown> {
  readonly persistenceId: string;
  constructor(args: { pid: string }) {
    super(args);
    this.persistenceId = args.pid;
  }
  initialState(): number {
    return 0;
  }
  applyEvent(n: number): number {
    return n + 1;
  }
  async receive(event: unknown): Promise<number> {
    await this.persist(event);
    return this.lastSequenceNr;
  }
}

interface Run {
  rate: number;
  lat: Latency;
}

async function rawOne(db: RootDatabase, tag: string, n: number): Promise<Run> {
  const lat = new Latency();
  const t0 = performance.now();
  for (let i = 1; i <= n; i++) {
    const s = performance.now();
    await db.put([tag, i], { event: eventOf(i), at: Date.now() });
    await db.flushed;
    lat.recordMs(performance.now() - s);
  }
  return { rate: n / ((performance.now() - t0) / 1000), lat };
}

async function apiaryOne(system: ActorSystem, tag: string, n: number): Promise<Run> {
  const ref = await system.spawn(Ledger, { args: { pid: tag } });
  const lat = new Latency();
  const t0 = performance.now();
  for (let i = 1; i <= n; i++) {
    const s = performance.now();
    await ref.ask(eventOf(i));
    lat.recordMs(performance.now() - s);
  }
  const rate = n / ((performance.now() - t0) / 1000);
  await system.stopActor(ref);
  return { rate, lat };
}

/** One round of `raw`: a put per actor, all awaited together, then `flushed`. */
async function rawRound(db: RootDatabase, tag: string, actors: number, r: number): Promise<void> {
  const puts: Promise<boolean>[] = [];
  for (let a = 0; a < actors; a++) puts.push(db.put([`${tag}-${a}`, r], { event: eventOf(r), at: Date.now() }));
  await Promise.all(puts);
  await db.flushed;
}

/** One round of `apiary`: one ask per actor, all at once; each persists one event. */
async function apiaryRound(refs: readonly ActorRef<unknown, number>[], r: number): Promise<void> {
  const ev = eventOf(r);
  await Promise.all(refs.map((ref) => ref.ask(ev)));
}

/**
 * The headline: `rounds` rounds of each, alternating in blocks of {@link BLOCK} rounds, so
 * both see the same disk (its fsync times drift over a run) and databases of the same size.
 */
async function many(raw: RootDatabase, system: ActorSystem, tag: string, actors: number, rounds: number): Promise<{ raw: Run; apiary: Run }> {
  const refs: ActorRef<unknown, number>[] = [];
  for (let a = 0; a < actors; a++) refs.push(await system.spawn(Ledger, { args: { pid: `${tag}-${a}` } }));
  const out = { raw: { rate: 0, lat: new Latency() }, apiary: { rate: 0, lat: new Latency() } };
  const spent = { raw: 0, apiary: 0 };
  const timed = async (which: 'raw' | 'apiary', round: () => Promise<void>): Promise<void> => {
    const s = performance.now();
    await round();
    const ms = performance.now() - s;
    spent[which] += ms;
    out[which].lat.recordMs(ms);
  };
  for (let r = 1; r <= rounds; r++) {
    await timed('raw', () => rawRound(raw, tag, actors, r));
    if (r % BLOCK === 0 || r === rounds) for (let q = r - ((r - 1) % BLOCK); q <= r; q++) await timed('apiary', () => apiaryRound(refs, q));
  }
  out.raw.rate = (actors * rounds) / (spent.raw / 1000);
  out.apiary.rate = (actors * rounds) / (spent.apiary / 1000);
  await Promise.all(refs.map((ref) => system.stopActor(ref)));
  return out;
}

function median(runs: Run[]): Run {
  return [...runs].sort((a, b) => a.rate - b.rate)[Math.floor(runs.length / 2)]!;
}

function rowsOf(system: string, run: Run, variant?: string): BenchRow[] {
  const lat = run.lat.rows(SCENARIO, system, variant).filter((r) => r.metric !== 'p999');
  return [...lat, throughputRow(SCENARIO, system, run.rate, variant)];
}

export async function persist(options: PersistOptions): Promise<ScenarioResult> {
  const dir = mkdtempSync(join(tmpdir(), 'apiary-bench-persist-'));
  const raw = open({ path: join(dir, 'raw', 'data.mdb') });
  const store = await LmdbStore.open(join(dir, 'apiary'));
  const system = new ActorSystem({ name: 'bench-persist', store });
  const runs = { rawOne: [] as Run[], rawMany: [] as Run[], apiaryOne: [] as Run[], apiaryMany: [] as Run[] };
  try {
    for (let k = 0; k < REPEATS; k++) {
      runs.rawOne.push(await rawOne(raw, `one-${k}`, options.oneActorEvents));
      runs.apiaryOne.push(await apiaryOne(system, `one-${k}`, options.oneActorEvents));
      const both = await many(raw, system, `many-${k}`, options.actors, options.rounds);
      runs.rawMany.push(both.raw);
      runs.apiaryMany.push(both.apiary);
    }
  } finally {
    await system.stop();
    await store.close();
    await raw.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const rows = [
    ...rowsOf('raw', median(runs.rawMany)),
    ...rowsOf('apiary', median(runs.apiaryMany)),
    ...rowsOf('raw', median(runs.rawOne), 'one-actor'),
    ...rowsOf('apiary', median(runs.apiaryOne), 'one-actor'),
  ];
  const ratio = median(runs.apiaryMany).rate / median(runs.rawMany).rate;
  return {
    rows,
    notes: [
      {
        scenario: SCENARIO,
        system: 'apiary',
        note: `${options.actors} actors × ${options.rounds} rounds: ${(ratio * 100).toFixed(0)} % of raw lmdb puts (target ≥ 50 %); one-actor p50/p99 are per durable event, the 1,000-actor ones per round`,
      },
    ],
  };
}
