/**
 * Why an actor exited — the value supervisors decide on and watchers receive.
 *
 * Owns: the {@link ExitReason} vocabulary and the OTP rule for what counts as a normal exit.
 * Reasons are plain data so they cross threads and nodes unchanged.
 */
import { serializeError, type SerializedError } from './foundation/errors.js';

/**
 * - `normal`: the actor stopped itself (`context.stop()`) or was stopped on purpose.
 * - `shutdown`: stopped by its supervisor, or a supervisor that gave up (restart intensity).
 * - `killed`: brutally killed (`system.kill`, or a shutdown timeout ran out).
 * - `thread-crash`: the worker thread hosting it died.
 * - `node-down`: the node hosting it was declared down.
 * - `noproc`: watched (or stopped) when nothing is known of it any more, e.g. an unknown id.
 * - `{ error }`: `receive` or a hook threw; the error as plain data.
 */
export type ExitReason =
  | 'normal'
  | 'shutdown'
  | 'killed'
  | 'thread-crash'
  | 'node-down'
  | 'noproc'
  | { error: SerializedError };

/** OTP's rule: `normal` and `shutdown` are normal exits; everything else is abnormal. */
export function isNormalExit(reason: ExitReason): boolean {
  return reason === 'normal' || reason === 'shutdown';
}

/** Wraps a thrown value as an exit reason. */
export function errorReason(err: unknown): ExitReason {
  return { error: serializeError(err) };
}

/** A short human-readable form: `normal`, `killed`, `Error: boom`. */
export function describeReason(reason: ExitReason): string {
  return typeof reason === 'string' ? reason : `${reason.error.name}: ${reason.error.message}`;
}
