/**
 * Shared fixtures for the unit tests: a manual-clock system that records its events, a
 * promise the test resolves by hand (to hold an async `receive`), and a way to look at a
 * promise without waiting for it.
 * No real time passes anywhere: the clock is manual and the dispatcher runs on whenIdle().
 */
import type { Subscription } from 'rxjs';
import { ActorSystem, ManualClock, type ActorSystemOptions, type SystemEvent } from '../../index.js';

export interface TestSystem {
  system: ActorSystem;
  clock: ManualClock;
  events: SystemEvent[];
  /** Lets every actor that has work run (no time passes). */
  settle(): Promise<void>;
  /** Stops the system; shutdown timers of actors stuck in an async receive run on manual time. */
  dispose(): Promise<void>;
}

export function testSystem(options: Omit<ActorSystemOptions, 'clock'> = {}): TestSystem {
  const clock = new ManualClock();
  const system = new ActorSystem({ name: 'unit', ...options, clock });
  const events: SystemEvent[] = [];
  const sub: Subscription = system.events$.subscribe((e) => events.push(e));
  return {
    system,
    clock,
    events,
    settle: () => system.whenIdle(),
    async dispose() {
      let stopped = false;
      const stopping = system.stop().then(() => {
        stopped = true;
      });
      for (let i = 0; i < 100 && !stopped; i++) {
        await system.whenIdle();
        if (!stopped) clock.advance(60_000);
      }
      await stopping;
      sub.unsubscribe();
    },
  };
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

/** A promise the test settles by hand. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export type Outcome<T> = { state: 'pending' } | { state: 'fulfilled'; value: T } | { state: 'rejected'; error: unknown };

/**
 * Where `promise` stands once the dispatcher is idle — without waiting for it to settle, so
 * a promise that should already be settled fails the test instead of hanging it.
 */
export async function outcomeOf<T>(promise: Promise<T>, system: ActorSystem): Promise<Outcome<T>> {
  let out: Outcome<T> = { state: 'pending' };
  promise.then(
    (value) => {
      out = { state: 'fulfilled', value };
    },
    (error: unknown) => {
      out = { state: 'rejected', error };
    },
  );
  await system.whenIdle();
  return out;
}

/** The `code` of a rejection, or what happened instead. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (err) {
    return String((err as { code?: unknown }).code);
  }
}

export function ofType<T extends SystemEvent['type']>(events: SystemEvent[], type: T): Extract<SystemEvent, { type: T }>[] {
  return events.filter((e): e is Extract<SystemEvent, { type: T }> => e.type === type);
}
