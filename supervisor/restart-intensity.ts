/**
 * Restart intensity: OTP's "more than `intensity` restarts within `period` ms" rule — as a
 * pure function over a log of restart times (the rule, stated once), and as the window a
 * supervisor keeps (the same rule in O(1) per restart, however large `intensity` is).
 */

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
 * `intensity + 1` times, in a ring of doubles (a JS array would box each time as a heap
 * number kept for a whole period: promoted garbage at a high restart rate). Owned by its
 * supervisor (state lives in the actor that owns it).
 */
export class RestartWindow {
  private times = new Float64Array(8);
  private head = 0;
  private size = 0;

  /** Records a restart at `now`; true when more than `intensity` now fall within `period`. */
  record(now: number, intensity: number, period: number): boolean {
    this.push(now);
    while (this.size > 0 && !stillCounts(this.times[this.head]!, now, period)) this.shift();
    if (this.size > intensity + 1) this.shift(); // past the limit the supervisor gives up anyway
    return this.size > intensity;
  }

  private push(t: number): void {
    const cap = this.times.length;
    if (this.size === cap) {
      const next = new Float64Array(cap * 2);
      for (let i = 0; i < this.size; i++) next[i] = this.times[(this.head + i) % cap]!;
      this.times = next;
      this.head = 0;
    }
    this.times[(this.head + this.size) % this.times.length] = t;
    this.size++;
  }

  private shift(): void {
    this.head = (this.head + 1) % this.times.length;
    this.size--;
  }
}
