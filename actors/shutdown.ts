/**
 * Timed stops: OTP's `shutdown` child-spec field.
 *
 * Owns: "ask it to stop, wait at most N ms, then kill it". Does not own what stopping
 * means (the cell runs its hooks) nor which order children stop in (the supervisor).
 * Time: the given clock only.
 */
import type { Clock } from './foundation/clock.js';
import type { ExitReason } from './exit-reason.js';

/** ms to wait for a graceful stop, `infinity` to wait for ever, `brutal-kill` not to wait. */
export type Shutdown = number | 'infinity' | 'brutal-kill';

/** What can be stopped: a local cell now, a remote handle later. */
export interface Stoppable {
  terminate(reason: ExitReason): Promise<ExitReason>;
  prepareRestart(reason: ExitReason): Promise<void>;
  kill(reason: ExitReason, final: boolean): void;
}

/**
 * Stops `target` for good: graceful within `shutdown`, then killed (reason `killed`).
 * Resolves with the reason it died with.
 */
export function stopWithin(target: Stoppable, reason: ExitReason, shutdown: Shutdown, clock: Clock): Promise<ExitReason> {
  if (shutdown === 'brutal-kill') {
    target.kill('killed', true);
    return Promise.resolve('killed');
  }
  const graceful = target.terminate(reason);
  if (shutdown === 'infinity') return graceful;
  return raceTimer(graceful, shutdown, clock, () => {
    target.kill('killed', true);
    return 'killed' as ExitReason;
  });
}

/**
 * Stops `target`'s current instance so it can be restarted: graceful within `shutdown`
 * (its `beforeRestart` hook runs), then killed. The target keeps its mailbox.
 */
export function stopForRestart(target: Stoppable, reason: ExitReason, shutdown: Shutdown, clock: Clock): Promise<void> {
  if (shutdown === 'brutal-kill') {
    target.kill('killed', false);
    return Promise.resolve();
  }
  const graceful = target.prepareRestart(reason);
  if (shutdown === 'infinity') return graceful;
  return raceTimer(graceful, shutdown, clock, () => target.kill('killed', false));
}

function raceTimer<T>(work: Promise<T>, ms: number, clock: Clock, onTimeout: () => T): Promise<T> {
  return new Promise<T>((resolve) => {
    let done = false;
    const timer = clock.setTimeout(() => {
      if (done) return;
      done = true;
      resolve(onTimeout());
    }, ms);
    work.then((v) => {
      if (done) return;
      done = true;
      clock.clearTimeout(timer);
      resolve(v);
    });
  });
}
