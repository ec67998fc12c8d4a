/**
 * The node's logger from `--log-level` / `--log-format` (and their environment variables).
 *
 * Owns: turning those two settings into a {@link Logger} for `apiary start`, and refusing
 * values that are not levels or formats (`ERR_INVALID_ARGUMENT` naming the flag: the CLI
 * exits 2). Precedence: the value given (a flag, or the validated config) > `APIARY_LOG_LEVEL`
 * / `APIARY_LOG_FORMAT` > `info` / `auto` (pretty on a TTY, JSON otherwise).
 * Does not own: where the values come from (the CLI's parsing and the config schema call this
 * with what they read) or changing the level later (`logger.setLevel`, e.g. on reload).
 */
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import { createLogger, LOG_DEFAULTS, LOG_FORMATS, LOG_LEVELS, type LogFormat, type Logger, type LogLevel } from './logger.js';

/** The two settings as read from flags or config; strings, so unchecked input is welcome here. */
export interface LogFlags {
  'log-level'?: string;
  'log-format'?: string;
}

/** Checks `value` is one of `allowed`; throws `ERR_INVALID_ARGUMENT` (field: the flag) otherwise. */
function pick<T extends string>(value: string, allowed: readonly T[], field: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `${field} must be one of ${allowed.join(', ')}, got '${value}'`, { field });
}

/** The level and format that `flags` and `env` ask for; throws `ERR_INVALID_ARGUMENT` naming the bad one. */
export function logSettings(flags: LogFlags, env: NodeJS.ProcessEnv = process.env): { level: LogLevel; format: LogFormat } {
  const level = flags['log-level'] ?? nonEmpty(env.APIARY_LOG_LEVEL);
  const format = flags['log-format'] ?? nonEmpty(env.APIARY_LOG_FORMAT);
  return {
    level: level === undefined ? LOG_DEFAULTS.level : pick(level, LOG_LEVELS, flags['log-level'] !== undefined ? '--log-level' : 'APIARY_LOG_LEVEL'),
    format: format === undefined ? LOG_DEFAULTS.format : pick(format, LOG_FORMATS, flags['log-format'] !== undefined ? '--log-format' : 'APIARY_LOG_FORMAT'),
  };
}

/**
 * The logger of node `node` for those flags: JSON lines on stdout unless it is a TTY (or
 * `--log-format pretty`). Throws `ERR_INVALID_ARGUMENT` for an unknown level or format.
 */
export function loggerFromFlags(node: string, flags: LogFlags, env: NodeJS.ProcessEnv = process.env, destination?: NodeJS.WritableStream): Logger {
  const { level, format } = logSettings(flags, env);
  return createLogger({ node, level, format, ...(destination === undefined ? {} : { destination }) });
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.length === 0 ? undefined : v;
}
