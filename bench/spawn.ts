/**
 * `spawn`: how fast idle actors are created on one thread and what each costs on the heap
 * once created (after a full GC, actors kept referenced). apiary spawns top-level actors
 * with `system.spawn`; nact and comedy (in-memory) spawn theirs the same way, fewer of
 * them where they are slow (a peer that is not installed is a note).
 */
import type { ActorRef } from '../actors/actor-ref.js';
import { ActorSystem } from '../runtime/node/actor-system.js';
import { BenchIdle } from './actors.js';
import { comedySpawner } from './peers/comedy.js';
import { notInstalled, peerInstalled } from './peers/load.js';
import { nactSpawner } from './peers/nact.js';
import { heapAfterGc, round, type BenchNote, type BenchRow, type ScenarioResult } from './stats.js';

export interface SpawnOptions {
  /** apiary actors (the 1M). */
  actors: number;
  /** comedy actors (its `createChild` takes ~0.1–1 ms each); nact gets 10× as many. */
  peerActors: number;
}

/** Awaiting every spawn one by one would measure the await; they are awaited per slice. */
const SLICE = 10_000;

async function measure(system: string, n: number, spawnAll: (n: number) => Promise<void>): Promise<BenchRow[]> {
  const before = heapAfterGc();
  const t0 = performance.now();
  await spawnAll(n);
  const elapsed = performance.now() - t0;
  const heap = (heapAfterGc() - before) / n;
  return [
    { scenario: 'spawn', system, metric: 'rate', value: round((n / elapsed) * 1000), unit: 'actors/s' },
    { scenario: 'spawn', system, metric: 'heap-per-actor', value: Math.round(heap), unit: 'bytes' },
  ];
}

export async function spawn(options: SpawnOptions): Promise<ScenarioResult> {
  const rows: BenchRow[] = [];
  const system = new ActorSystem();
  const refs: ActorRef[] = [];
  try {
    rows.push(
      ...(await measure('apiary', options.actors, async (n) => {
        for (let i = 0; i < n; i += SLICE) {
          const slice: Promise<ActorRef>[] = [];
          for (let k = i; k < Math.min(n, i + SLICE); k++) slice.push(system.spawn(BenchIdle) as Promise<ActorRef>);
          refs.push(...(await Promise.all(slice)));
        }
      })),
    );
  } finally {
    refs.length = 0;
    await system.stop();
  }
  const notes: BenchNote[] = [];
  if (peerInstalled('nact')) {
    const nact = nactSpawner();
    try {
      rows.push(...(await measure('nact', options.peerActors * 10, (n) => nact.spawn(n))));
    } finally {
      nact.stop();
    }
    notes.push({ scenario: 'spawn', system: 'nact', note: `${options.peerActors * 10} actors (slower to create; per-actor figures)` });
  } else notes.push(notInstalled('nact', 'spawn'));
  if (peerInstalled('comedy')) {
    const comedy = await comedySpawner();
    try {
      rows.push(...(await measure('comedy', options.peerActors, (n) => comedy.spawn(n))));
    } finally {
      await comedy.stop();
    }
    notes.push({ scenario: 'spawn', system: 'comedy', note: `${options.peerActors} actors (slower to create; per-actor figures)` });
  } else notes.push(notInstalled('comedy', 'spawn'));
  return { rows, notes };
}
