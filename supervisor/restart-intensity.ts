/**
 * Restart intensity: OTP's "more than `intensity` restarts within `period` ms" rule — as a
 * pure function over a log of restart times (the rule, stated once), and as the window a
 * supervisor keeps (the same rule in O(1) per restart, however large `intensity` is).
 */
import { Deque } from '../actors/foundation/deque.js';

/** A restart at `t` still counts at `now` while `now <= t + period` (OTP's `add_restart/3`). */
export function stillCounts(t: number, now: number, period: number): boolean {
  return now <= t + period;
}

/**
 * Adds a restart at `now` and forgets those older than `period`. `exceeded` is true when the
 * window now holds more than `intensity` restarts: the supervisor must give up.
 */
export function recordRestart(
  log: readonly number[],
  now: number,
  intensity: number,
  period: number,
): { log: number[]; exceeded: boolean } {
  const next = [now];
  for (const t of log) if (stillCounts(t, now, period)) next.push(t);
  return { log: next, exceeded: next.length > intensity };
}

/**
 * The restarts of one supervisor's current window, oldest first: recording one drops those
 * that no longer count from the front (restart times only grow), so a restart costs O(1)
 * amortized where rebuilding the log cost O(restarts in the window). Holds at most
 * `intensity + 1` times. Owned by its supervisor (state lives in the actor that owns it).
 */
export class RestartWindow {
  private readonly times = new Deque<number>(8);

  /** Records a restart at `now`; true when more than `intensity` now fall within `period`. */
  record(now: number, intensity: number, period: number): boolean {
    const times = this.times;
    times.push(now);
    while (times.length > 0 && !stillCounts(times.peek()!, now, period)) times.shift();
    if (times.length > intensity + 1) times.shift(); // past the limit the supervisor gives up anyway
    return times.length > intensity;
  }
}
