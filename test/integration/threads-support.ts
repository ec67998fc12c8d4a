/**
 * Shared helpers of the worker-thread integration tests: polling on the real clock (bounded),
 * recording a system's events, and a supervisor child's current ref.
 */
import type { ActorRef, ActorSystem, SupervisorRef, SystemEvent } from '../../dist/index.js';

/** Polls `check` on the real clock until it returns a value (not undefined/false), bounded by `ms`. */
export async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v as T;
    if (performance.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every event `s` publishes from now on. */
export function record(s: ActorSystem): SystemEvent[] {
  const events: SystemEvent[] = [];
  s.events$.subscribe((e) => events.push(e));
  return events;
}

/** The ref of `sup`'s running child `id`; throws if it is not running. */
export async function childRef(sup: SupervisorRef, id: string): Promise<ActorRef<any, any>> {
  const info = (await sup.whichChildren()).find((c) => c.id === id);
  if (!info?.ref) throw new Error(`no running child ${id}`);
  return info.ref;
}
