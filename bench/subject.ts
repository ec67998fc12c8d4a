/**
 * The common shape of every system under test in the message scenarios (apiary, the raw
 * baselines, the peers), and the two measurements run over it: ping-pong RTT and one-way
 * throughput. Every system gets the same driver, so the only difference is the system.
 */
import type { ActorRef, AskOptions } from '../actors/actor-ref.js';
import type { ActorSystem } from '../runtime/node/actor-system.js';
import { BenchTarget } from './actors.js';
import { Latency, throughput, yieldToLoop } from './stats.js';

/** One actor of some system, seen from the sender's thread. */
export interface Subject {
  readonly system: string;
  /** Request/response: resolves with `v` echoed by the target. */
  ask(v: number): Promise<unknown>;
  /**
   * Fire-and-forget to the same target; counted there. `false`: refused, the system pushes
   * back (apiary past a link's bound) — the floods wait and send it again.
   */
  tell(msg: unknown): boolean | void;
  /** Resolves once the target has counted `total` tells since it started. */
  counted(total: number): Promise<void>;
  stop(): Promise<void>;
}

/** The message every throughput and flood scenario sends. */
export const TICK = { seq: 0, kind: 'tick' } as const;

/** Tells are sent in slices of this many, yielding to the event loop in between, as a real sender would. */
export const SLICE = 8192;

/**
 * Records `samples` ping-pong samples; each is the mean of `chunk` consecutive round trips
 * (in-thread round trips are a fraction of a microsecond, below what one timer read can resolve).
 */
export async function pingPong(subject: Subject, samples: number, lat: Latency, chunk = 1): Promise<void> {
  let v = 0;
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    for (let k = 0; k < chunk; k++) await subject.ask(v++);
    lat.recordMs((performance.now() - t0) / chunk);
  }
}

/** How long a flood waits after a refused tell before it sends it again, ms. */
const REFUSED_WAIT_MS = 1;

/**
 * One-way messages per second: `iterations` runs of `messages` tells, each until all were
 * counted. A refused tell (backpressure) is sent again after a short wait, as a producer
 * that respects backpressure does: the rate is what the receiver sustains.
 */
export async function flood(subject: Subject, messages: number, iterations: number): Promise<number> {
  let sent = 0;
  return throughput(`${subject.system} flood`, messages, iterations, async () => {
    for (let i = 0; i < messages; i++) {
      while (subject.tell(TICK) === false) await new Promise((r) => setTimeout(r, REFUSED_WAIT_MS));
      if (i % SLICE === SLICE - 1) await yieldToLoop();
    }
    sent += messages;
    await subject.counted(sent);
  });
}

/** Asks `count` until it reaches `total` (peers whose tells and asks are not ordered need the loop). */
export async function pollCount(ask: () => Promise<number>, total: number): Promise<void> {
  for (;;) {
    const n = await ask();
    if (n >= total) return;
    await yieldToLoop();
  }
}

/** An ask refused by backpressure counts as "not yet" (0); anything else fails the run. */
function refusedAsZero(err: unknown): number {
  if ((err as { code?: unknown }).code === 'ERR_BACKPRESSURE') return 0;
  throw err;
}

/** An apiary BenchTarget on `thread` (0: the caller's thread). */
export async function apiarySubject(system: ActorSystem, thread = 0, name = 'apiary', askOptions?: AskOptions): Promise<Subject> {
  const ref = (await system.spawn(BenchTarget, { thread })) as ActorRef<unknown, unknown>;
  return {
    system: name,
    ask: (v) => ref.ask(v, askOptions),
    tell: (msg) => ref.tell(msg),
    // an ask refused while the link holds its bound is asked again (pollCount loops)
    counted: (total) => pollCount(() => (ref.ask('count', { timeout: 120_000 }) as Promise<number>).catch(refusedAsZero), total),
    stop: async () => void (await system.stopActor(ref)),
  };
}

/**
 * The in-thread physical limit: a bare function-call queue drained in a microtask, with
 * promise-based asks — no mailbox, no dispatcher, no actor.
 */
export function rawQueueSubject(): Subject {
  let count = 0;
  const items: unknown[] = [];
  let head = 0;
  let scheduled = false;
  const handle = (m: unknown): void => {
    if (typeof m === 'function') (m as () => void)();
    else count++;
  };
  const drain = (): void => {
    while (head < items.length) handle(items[head++]);
    items.length = 0;
    head = 0;
    scheduled = false;
  };
  const push = (m: unknown): void => {
    items.push(m);
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(drain);
    }
  };
  return {
    system: 'raw',
    ask: (v) => new Promise((resolve) => push(() => resolve(v))),
    tell: push,
    counted: (total) => pollCount(() => new Promise((resolve) => push(() => resolve(count))), total),
    stop: async () => {},
  };
}
