/**
 * SubmitLoad: the load of the `tasks` scenario, for apiary's queue and its peer alike — N
 * submissions in slices of 500 per event-loop turn, at most `inFlight` not yet done; each
 * one's latency is its submit call → its completion. Owns the bookkeeping (submit times,
 * completions, the end); the caller says how to submit one and tells it each completion.
 * Main thread; wall-clock `performance.now()`.
 */
import { Latency, yieldToLoop } from './stats.js';

export class SubmitLoad {
  readonly latency = new Latency();
  private readonly started = new Map<string, number>();
  private done = 0;
  private allDone: () => void = () => undefined;
  private readonly finished = new Promise<void>((r) => (this.allDone = r));

  constructor(
    private readonly n: number,
    private readonly inFlight: number,
  ) {}

  /** A submission (by the id its submit resolved with) completed. */
  completed(id: string | undefined): void {
    const t0 = id === undefined ? undefined : this.started.get(id);
    if (t0 !== undefined) {
      this.latency.recordMs(performance.now() - t0);
      this.started.delete(id!);
    }
    if (++this.done === this.n) this.allDone();
  }

  /** Submits all N (`submit(i)` resolves with the submission's id), waits until all completed; the rate per second. */
  async run(submit: (i: number) => Promise<string | undefined>): Promise<number> {
    const t0 = performance.now();
    let submitted = 0;
    while (submitted < this.n) {
      if (submitted - this.done >= this.inFlight) {
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      const slice = Math.min(500, this.n - submitted);
      const pending: Promise<unknown>[] = [];
      for (let i = 0; i < slice; i++) {
        const at = performance.now();
        pending.push(submit(submitted + i).then((id) => void (id !== undefined && this.started.set(id, at))));
      }
      submitted += slice;
      await Promise.all(pending);
      await yieldToLoop();
    }
    await this.finished;
    return this.n / ((performance.now() - t0) / 1000);
  }
}
