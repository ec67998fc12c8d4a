/**
 * Supervision defaults, each named after the OTP or Akka default it follows.
 */
export const DEFAULTS = {
  /** OTP `supervisor`: `one_for_one`. */
  strategy: 'one-for-one',
  /** OTP: `intensity` 1 … */
  intensity: 1,
  /** … within `period` 5 s. */
  period: 5000,
  /** OTP: children are `permanent` unless said otherwise. */
  restart: 'permanent',
  /** OTP: a worker gets 5000 ms to stop before it is killed … */
  workerShutdown: 5000,
  /** … a supervisor gets `infinity` (its own children have their own shutdowns). */
  supervisorShutdown: 'infinity',
  /** Akka `BackoffOpts`: `randomFactor` 0.2. */
  randomFactor: 0.2,
  /** Messages kept for a child while it waits out a backoff; beyond this they are dead letters. */
  stashCapacity: 1000,
} as const;
