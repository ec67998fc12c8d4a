/**
 * How a bad configuration is reported: one {@link ConfigIssue} per bad field, each naming
 * the field, where the value came from, what was expected and what came; all of them in one
 * {@link ConfigError} (`ERR_INVALID_CONFIG`), so a user fixes every field in one go.
 *
 * Owns: the issue shape and its one-line wording. Does not own: finding issues (schema.ts,
 * resolve.ts).
 */
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import { relative } from 'node:path';

/** Where a config value came from. */
export type SourceKind = 'flag' | 'env' | 'file' | 'default';

export interface ConfigSource {
  kind: SourceKind;
  /** `--threads`, `APIARY_THREADS`, the config file's path, or `default`. */
  from: string;
}

export interface ConfigIssue {
  /** The field's path: `threads`, `health.degradedLagMs`, `alerts.rules.0.op`, `--frobnicate` for an unknown flag. */
  field: string;
  source: ConfigSource;
  /** What was expected, e.g. `an integer >= 0`. */
  expected: string;
  /** What came (secrets masked); undefined when nothing came. */
  received: unknown;
  /** The issue as one line, e.g. `--threads must be an integer >= 0, got -1`. */
  message: string;
}

/**
 * The configuration is invalid: `issues` lists every bad field; `field` is the first one's.
 * `apiary start` and `apiary config` exit 2 with one line per issue.
 */
export class ConfigError extends ApiaryError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    const lines = issues.map((i) => `  ${i.message}`).join('\n');
    super(ErrorCodes.INVALID_CONFIG, `invalid config (${issues.length} bad field${issues.length === 1 ? '' : 's'}):\n${lines}`, {
      field: issues[0]?.field,
    });
    this.issues = issues;
  }
}

/** The issue's one line: the field as its source spells it, what it must be, and what came. */
export function issueLine(field: string, source: ConfigSource, expected: string, received: unknown, cwd: string): string {
  const got = received === undefined ? 'nothing' : show(received);
  const verb = expected.startsWith('no ') || expected.startsWith('not ') ? 'is' : 'must be';
  switch (source.kind) {
    case 'flag':
      return `${source.from}${kebabToCamel(source.from.replace(/^--/, '')) === field ? '' : ` (${field})`} ${verb} ${expected}, got ${got}`;
    case 'env':
      return `${source.from} (${field}) ${verb} ${expected}, got ${got}`;
    case 'file':
      return `${field} ${verb} ${expected}, got ${got} (in ${displayPath(source.from, cwd)})`;
    case 'default':
      return `${field} ${verb} ${expected}, got ${got}`;
  }
}

/** A path as short as it can be: relative to `cwd` when it is below it. */
export function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel !== '' && !rel.startsWith('..') ? rel : path;
}

function kebabToCamel(s: string): string {
  return s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** A value for a message: JSON, cut to 60 characters. */
export function show(value: unknown): string {
  let text: string;
  if (typeof value === 'function') text = 'a function';
  else if (typeof value === 'bigint') text = `${value}n`;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
