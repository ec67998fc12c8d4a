/**
 * Stopping a node on SIGINT/SIGTERM: the first signal stops the system in order (the tree
 * in reverse start order, then the worker threads and pools) and exits 0 (1 if stopping
 * failed); a second signal while that runs exits at once with code 130.
 * The process is kept alive until the stop completes: Clock timers do not hold it open, so
 * without that a `stopping` hook waiting on the clock would be cut short once the servers
 * close.
 */
import type { ActorSystem } from './actor-system.js';
import { keepAlive } from '../../actors/foundation/clock.js';

export interface SignalOptions {
  signals?: NodeJS.Signals[];
  /** Awaited before the system stops (e.g. to close a server). */
  beforeStop?: () => Promise<void> | void;
  /** Called after the system stopped, before exiting 0 (e.g. to log). */
  onStopped?: () => void;
  /** Called when `beforeStop` or the stop failed, before exiting 1 (e.g. to log why). */
  onFailed?: (err: unknown) => void;
}

/** Installs the handlers; returns a function that removes them. */
export function stopOnSignals(system: ActorSystem, options: SignalOptions = {}): () => void {
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  let stopping = false;
  const handler = (): void => {
    if (stopping) {
      process.exit(130);
    }
    stopping = true;
    keepAlive(); // released by process.exit
    Promise.resolve()
      .then(() => options.beforeStop?.())
      .then(() => system.stop())
      .then(
        () => {
          options.onStopped?.();
          process.exit(0);
        },
        (err: unknown) => {
          options.onFailed?.(err);
          process.exit(1);
        },
      );
  };
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}
