/**
 * `restart`: from a crash to the actor answering again, under a one-for-one supervisor.
 * - in-thread (headline rows): `receive` throws → the supervisor restarts the actor → an
 *   ask queued right behind the crash is answered (apiary; nact with `onCrash: reset`);
 * - variant `thread-crash`: the actor ends its worker thread (`process.exit`) → the thread
 *   is replaced (default configuration: a spare worker is promoted) → the supervisor
 *   restarts the actor there → it answers an ask. Crashes are spaced: each waits until the
 *   spare that replaces the previous one has loaded (bounded), as crashes seconds apart
 *   would. Its baseline (`raw`, same variant) is a bare worker thread started from scratch
 *   until it answers;
 * - variant `thread-crash-cold`: the same with `spareThreads: 0`, the thread replaced by a
 *   cold worker start (what every crash cost before spares, and what a crash costs while
 *   the next spare is still loading).
 */
import { Worker } from 'node:worker_threads';
import { filter, firstValueFrom } from 'rxjs';
import type { ActorRef } from '../actors/actor-ref.js';
import { ActorSystem } from '../runtime/node/actor-system.js';
import { supervisor } from '../supervisor/child-spec.js';
import type { SupervisorRef } from '../supervisor/supervisor-ref.js';
import { BenchCrasher } from './actors.js';
import { notInstalled, peerInstalled } from './peers/load.js';
import { nactCrasher } from './peers/nact.js';
import { Latency, type BenchRow, type ScenarioResult } from './stats.js';

/**
 * Restarts before the measured ones: both systems' restart paths are JIT-compiled by then
 * (a few hundred restarts in, apiary's p50 is still twice its steady state; nact's ~1.5×).
 */
function warmUp(n: number): number {
  return Math.min(2000, n);
}

/** Rounds the in-thread samples are split into, systems alternating. */
const ROUNDS = 20;

export interface RestartOptions {
  /** In-thread crash → answer samples. */
  inThread: number;
  /** Thread crashes (each costs a worker start, ~50–100 ms). */
  threadCrashes: number;
}

const RAW_WORKER = new URL('./raw-worker.js', import.meta.url);

function crasherTree(thread: number) {
  return supervisor({ strategy: 'one-for-one', intensity: 1_000_000, period: 1000, children: [{ id: 'crasher', actor: BenchCrasher, thread }] });
}

async function childRef(sup: SupervisorRef): Promise<ActorRef<unknown, unknown>> {
  const [child] = await sup.whichChildren();
  if (child?.ref === undefined) throw new Error('restart bench: the crasher is not running');
  return child.ref as ActorRef<unknown, unknown>;
}

/** One crash → answer cycle of some system, repeatable. */
interface Crasher {
  cycle(i: number): Promise<unknown>;
  stop(): Promise<void>;
}

async function apiaryCrasher(): Promise<Crasher> {
  const system = new ActorSystem();
  const ref = await childRef(await system.spawn(crasherTree(0)));
  return {
    cycle: (i) => {
      ref.tell('crash');
      return ref.ask(i); // the cell outlives restarts: the ask waits in the mailbox for the new instance
    },
    stop: () => system.stop(),
  };
}

function nactCrasherSubject(): Crasher {
  const nact = nactCrasher();
  return {
    cycle: (i) => {
      nact.crash();
      return nact.ask(i);
    },
    stop: async () => nact.stop(),
  };
}

/**
 * In-thread restart latency of each system: warmed up, then measured in alternating rounds
 * (as the cross-thread ping-pong is), so each system sees the same machine and neither
 * benefits from running first or last.
 */
async function inThread(n: number, systems: [string, Crasher][]): Promise<BenchRow[]> {
  const lat = systems.map(() => new Latency());
  try {
    for (const [, c] of systems) for (let i = 0; i < warmUp(n); i++) await c.cycle(i);
    const perRound = Math.max(1, Math.round(n / ROUNDS));
    for (let r = 0; r < ROUNDS; r++) {
      for (let s = 0; s < systems.length; s++) {
        const c = systems[s]![1];
        for (let i = 0; i < perRound; i++) {
          const t0 = performance.now();
          await c.cycle(i);
          lat[s]!.recordMs(performance.now() - t0);
        }
      }
    }
    return systems.flatMap(([name], s) => lat[s]!.rows('restart', name));
  } finally {
    for (const [, c] of systems) await c.stop();
  }
}

/** Waits (at most 5 s) until `system` has as many loaded spare workers as it keeps. */
async function sparesLoaded(system: ActorSystem, spares: number): Promise<void> {
  const deadline = performance.now() + 5000;
  while ((system.threads?.spareCounts().loaded ?? 0) < spares) {
    if (performance.now() > deadline) throw new Error('restart bench: the spare worker did not load within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function threadCrash(n: number, lat: Latency, spareThreads?: number): Promise<void> {
  const system = await ActorSystem.start({ threads: 1, spareThreads });
  try {
    const sup = await system.spawn(crasherTree(1), { name: 'bench-restart' });
    for (let i = -1; i < n; i++) {
      await sparesLoaded(system, spareThreads ?? 1);
      const ref = await childRef(sup);
      await ref.ask(0);
      const restarted = firstValueFrom(system.events$.pipe(filter((e) => e.type === 'restarted' && e.path.endsWith('/crasher'))));
      const t0 = performance.now();
      ref.tell('exit-thread');
      await restarted;
      await (await childRef(sup)).ask(i);
      if (i >= 0) lat.recordMs(performance.now() - t0);
    }
  } finally {
    await system.stop();
  }
}

/** A bare worker (msgpackr loaded, no apiary runtime) from `new Worker` to its first answer. */
async function workerStart(n: number, lat: Latency): Promise<void> {
  for (let i = -1; i < n; i++) {
    const t0 = performance.now();
    const w = new Worker(RAW_WORKER);
    const answered = new Promise((resolve) => w.once('message', resolve));
    w.postMessage(1);
    await answered;
    if (i >= 0) lat.recordMs(performance.now() - t0);
    await w.terminate();
  }
}

export async function restart(options: RestartOptions): Promise<ScenarioResult> {
  const nact = peerInstalled('nact');
  const systems: [string, Crasher][] = [['apiary', await apiaryCrasher()], ...(nact ? [['nact', nactCrasherSubject()] as [string, Crasher]] : [])];
  const rows: BenchRow[] = await inThread(options.inThread, systems);
  // alternate the two thread measurements so both see the same machine
  const raw = new Latency();
  const crash = new Latency();
  const cold = new Latency();
  const half = Math.max(1, Math.round(options.threadCrashes / 2));
  for (let r = 0; r < 2; r++) {
    await workerStart(half, raw);
    await threadCrash(half, crash);
    await threadCrash(half, cold, 0);
  }
  rows.push(
    ...raw.rows('restart', 'raw', 'thread-crash'),
    ...crash.rows('restart', 'apiary', 'thread-crash'),
    ...cold.rows('restart', 'apiary', 'thread-crash-cold'),
  );
  return {
    rows,
    notes: [
      ...(nact ? [] : [notInstalled('nact', 'restart')]),
      { scenario: 'restart', system: 'comedy', note: 'restarts only forked/threaded actors by respawning a process or thread; not comparable in-thread' },
    ],
  };
}
