/**
 * Restart intensity: OTP's "more than `intensity` restarts within `period` ms" rule, as a
 * pure function over the log of restart times.
 */

/**
 * Adds a restart at `now` and forgets those older than `period` (a restart at `t` counts
 * while `now <= t + period`, as OTP's `add_restart/3`). `exceeded` is true when the window
 * now holds more than `intensity` restarts: the supervisor must give up.
 */
export function recordRestart(
  log: readonly number[],
  now: number,
  intensity: number,
  period: number,
): { log: number[]; exceeded: boolean } {
  const next = [now];
  for (const t of log) if (now <= t + period) next.push(t);
  return { log: next, exceeded: next.length > intensity };
}
