/**
 * Heartbeats: every thread says, every `heartbeatMs`, that its event loop turns — and how
 * well: event-loop lag (max delay seen since the last beat, from perf_hooks'
 * monitorEventLoopDelay) and utilization (share of time the loop was busy).
 * A thread whose loop is blocked sends nothing; the health monitor notices the silence.
 */
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { Clock, TimerHandle } from '../../actors/foundation/clock.js';

/** What a thread says with each beat (the wire's heartbeat payload, transport/frames.ts). */
export type { Heartbeat } from '../../transport/frames.js';
import type { Heartbeat } from '../../transport/frames.js';

export const HEARTBEAT_DEFAULTS = { heartbeatMs: 500 } as const;

/** Emits this thread's heartbeats until stopped. */
export function startHeartbeats(
  thread: number,
  clock: Clock,
  everyMs: number,
  load: () => { actors: number; mailbox: number },
  emit: (hb: Heartbeat) => void,
): () => void {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let elu: EventLoopUtilization = performance.eventLoopUtilization();
  let seq = 0;
  let timer: TimerHandle | undefined;
  const beat = (): void => {
    const now = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(now, elu).utilization;
    elu = now;
    const lagMs = Math.max(0, delay.max / 1e6 - 10);
    delay.reset();
    emit({ thread, at: clock.now(), seq: ++seq, lagMs: Math.round(lagMs * 10) / 10, utilization: Math.round(utilization * 1000) / 1000, ...load() });
    timer = clock.setTimeout(beat, everyMs);
  };
  timer = clock.setTimeout(beat, everyMs);
  return () => {
    clock.clearTimeout(timer);
    delay.disable();
  };
}
