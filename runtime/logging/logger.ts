/**
 * The node's structured log (pino; this is the only file that imports it).
 *
 * Owns: levels, timestamps and the node name on every line; the output format — `pretty`
 * (one readable line, colour unless `NO_COLOR`) or `json` (one JSON object per line, pino's
 * fields: level, time, node, msg, plus the fields given) — and changing the level while the
 * node runs (hot reload). `auto` picks pretty on a TTY and JSON otherwise.
 * Does not own: what is logged (the CLI and runtime/logging's event mapping decide) or where
 * events come from.
 * Writes synchronously, so a line written before `process.exit` is never lost.
 */
import { pino, type Logger as Pino, type DestinationStream } from 'pino';
import pinoPretty from 'pino-pretty';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['pretty', 'json', 'auto'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const LOG_DEFAULTS = { level: 'info', format: 'auto' } as const satisfies { level: LogLevel; format: LogFormat };

/** Extra fields of one line: plain data (paths, names, counts), never object graphs. */
export type LogFields = Record<string, unknown>;

export interface Logger {
  /** The current threshold: lines below it are not written. */
  readonly level: LogLevel;
  /** Changes the threshold at once, for this logger and every child made from it. */
  setLevel(level: LogLevel): void;
  error(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  /** A logger whose lines all carry `bindings` (e.g. `{ component: 'cluster' }`). */
  child(bindings: LogFields): Logger;
}

export interface LoggerOptions {
  /** The node name, on every line. */
  node: string;
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go; default stdout. Tests pass a stream to read them back. */
  destination?: NodeJS.WritableStream;
  /** Whether stdout is a terminal, for `auto` (default: `process.stdout.isTTY`). */
  tty?: boolean;
}

/** Creates a logger; `format: 'auto'` is pretty on a TTY, JSON otherwise. */
export function createLogger(options: LoggerOptions): Logger {
  const format = options.format ?? LOG_DEFAULTS.format;
  const tty = options.tty ?? process.stdout.isTTY === true;
  const pretty = format === 'pretty' || (format === 'auto' && tty);
  const colour = pretty && tty && process.env.NO_COLOR === undefined;
  const out = options.destination;
  const destination: DestinationStream = pretty
    ? pinoPretty({
        colorize: colour,
        sync: true,
        translateTime: 'HH:MM:ss.l',
        ignore: 'pid,hostname',
        singleLine: true,
        destination: out ?? 1,
      })
    : ((out as DestinationStream | undefined) ?? pino.destination({ dest: 1, sync: true }));
  const root = pino({ level: options.level ?? LOG_DEFAULTS.level, base: { node: options.node } }, destination);
  return wrap(root);
}

/** A logger that writes nothing (the default of a system nobody gave a logger). */
export const SILENT_LOGGER: Logger = {
  level: 'silent',
  setLevel() {},
  error() {},
  warn() {},
  info() {},
  debug() {},
  child() {
    return SILENT_LOGGER;
  },
};

/** One pino instance per root: children add their bindings per line, so a level change reaches them all. */
function wrap(p: Pino, bindings?: LogFields): Logger {
  const write = (level: 'error' | 'warn' | 'info' | 'debug', msg: string, fields: LogFields | undefined): void => {
    if (!p.isLevelEnabled(level)) return;
    const all = bindings === undefined ? fields : fields === undefined ? bindings : { ...bindings, ...fields };
    if (all === undefined) p[level](msg);
    else p[level](all, msg);
  };
  return {
    get level() {
      return p.level as LogLevel;
    },
    setLevel(level) {
      p.level = level;
    },
    error: (msg, fields) => write('error', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    debug: (msg, fields) => write('debug', msg, fields),
    child: (more) => wrap(p, bindings === undefined ? more : { ...bindings, ...more }),
  };
}
