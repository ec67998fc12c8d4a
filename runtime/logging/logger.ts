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
 * pino and pino-pretty are loaded on the first `createLogger`, not on import.
 */
import { createRequire } from 'node:module';
import type { Logger as Pino, DestinationStream } from 'pino';
import type PinoPretty from 'pino-pretty';

/**
 * pino and pino-pretty load when a logger is first made, not when apiary is imported: a
 * program (or a worker thread's agent module) that never logs does not pay for them.
 */
const load = createRequire(import.meta.url);
const pinoModule = (): typeof import('pino') => load('pino') as typeof import('pino');
const pinoPrettyModule = (): typeof PinoPretty => load('pino-pretty') as typeof PinoPretty;

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

/**
 * Creates a logger; `format: 'auto'` is pretty on a TTY, JSON otherwise.
 *
 * JSON lines: `{"level":"info","time":"2026-05-01T12:00:00.000Z","node":"n1",…fields,"msg":"…"}`
 * (level as its name, time as ISO 8601 UTC). Pretty lines:
 * `12:00:00.000 INFO  n1: [cluster] member n2 up · incarnation=… url=…` — time, level,
 * node, the `component` field in brackets, the message, then the other fields as key=value
 * (but `event`, a stable name of the line for machines, and the values the message already
 * shows);
 * colour on a TTY unless `NO_COLOR` is set. Control characters in what a peer can choose
 * (names, reasons) are escaped in both formats, so one event is always one line.
 */
export function createLogger(options: LoggerOptions): Logger {
  const format = options.format ?? LOG_DEFAULTS.format;
  const tty = options.tty ?? process.stdout.isTTY === true;
  const pretty = format === 'pretty' || (format === 'auto' && tty);
  const colour = pretty && tty && process.env.NO_COLOR === undefined;
  const out = options.destination;
  const level = options.level ?? LOG_DEFAULTS.level;
  const { pino } = pinoModule();
  if (!pretty) {
    const destination = (out as DestinationStream | undefined) ?? pino.destination({ dest: 1, sync: true });
    const root = pino(
      {
        level,
        base: { node: options.node },
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
      },
      destination,
    );
    return wrap(root);
  }
  const destination: DestinationStream = pinoPrettyModule()({
    colorize: colour,
    sync: true,
    translateTime: 'HH:MM:ss.l',
    hideObject: true,
    destination: out ?? 1,
    customPrettifiers: {
      time: (t) => String(t),
      level: (_value, _key, log, extras) => {
        const { label, labelColorized } = extras as { label: string; labelColorized: string };
        return `${labelColorized}${' '.repeat(Math.max(0, 5 - label.length))} ${oneLine(String((log as LogFields).node ?? ''))}`;
      },
    },
    messageFormat: (log, messageKey, _levelLabel, { colors }) => {
      // `event` names the line for machines (JSON); the message says it for people
      const { [messageKey]: msg, component, event: _e, level: _l, time: _t, node: _n, pid: _p, hostname: _h, ...fields } = log as LogFields;
      const head = component === undefined ? '' : `${colors.bold(`[${oneLine(String(component))}]`)} `;
      const text = String(msg ?? '');
      // a field the message already shows (a path, a peer, a reason) is not repeated
      const tail = Object.entries(fields)
        .filter(([, v]) => v !== undefined && !(typeof v === 'string' || typeof v === 'number' ? text.includes(String(v)) : false))
        .map(([k, v]) => `${k}=${showValue(v)}`)
        .join(' ');
      return `${head}${oneLine(text)}${tail === '' ? '' : colors.gray(` · ${tail}`)}`;
    },
  });
  return wrap(pino({ level, base: { node: options.node } }, destination));
}

/** A value for a pretty line: bare if it is one plain word, else quoted (JSON). */
function showValue(v: unknown): string {
  const text = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  return typeof v === 'string' && /^[\w./:@#+-]+$/.test(text) ? text : oneLine(typeof v === 'string' ? JSON.stringify(v) : text);
}

/** Escapes control characters (a newline in a peer's name must not start a fake line). */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
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
