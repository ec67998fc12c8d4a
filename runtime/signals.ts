/**
 * Stopping a node on SIGINT/SIGTERM: the first signal stops the system in order (the tree
 * in reverse start order, then the worker threads and pools) and exits 0; a second signal
 * while that runs exits at once with code 130.
 */
import type { ActorSystem } from './actor-system.js';

export interface SignalOptions {
  signals?: NodeJS.Signals[];
  /** Awaited before the system stops (e.g. to close a server). */
  beforeStop?: () => Promise<void> | void;
  /** Called after the system stopped, before exiting (e.g. to log). */
  onStopped?: () => void;
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
    Promise.resolve(options.beforeStop?.())
      .then(() => system.stop())
      .then(
      () => {
        options.onStopped?.();
        process.exit(0);
      },
      () => process.exit(1),
    );
  };
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}
