/**
 * The config a node runs with: flags > environment (APIARY_*) > config file > defaults,
 * every value checked by the one schema, and where each came from.
 *
 * Owns: {@link resolveConfig} — parsing `apiary start`'s flags, reading APIARY_* variables,
 * the config file (load-file.ts), merging by precedence (objects field by field, lists and
 * values as a whole), reading the secret and admin-token files, and the sources map.
 * Does not own: what each field must be (schema.ts), starting anything (runtime/cli/start.ts),
 * or reloading (reload.ts, which calls this again).
 * Time: none. Reads files and imports modules; never writes.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { isSupervisorSpec, type SupervisorSpec } from '../../supervisor/child-spec.js';
import type { AppSetup } from '../node/app-setup.js';
import { ConfigError, issueLine, type ConfigIssue, type ConfigSource } from './config-error.js';
import { configDefaults } from './defaults.js';
import { isPlainObject } from './live-settings.js';
import { chooseConfigFile, loadApp, loadConfigFile } from './load-file.js';
import { CONFIG_FIELDS, CONFIG_FILE_FLAG, SECRET_FIELDS, type EffectiveConfig, type FieldInfo, type NodeConfig } from './node-config.js';
import { checkCombined, checkConfig, type SchemaIssue } from './schema.js';

export interface ResolveInputs {
  /** `apiary start`'s flags (no verb); a caller with flags of its own removes them first. */
  argv: readonly string[];
  /** Usually `process.env`. */
  env: Record<string, string | undefined>;
  /** Where relative paths and `apiary.config.*` are looked up. */
  cwd: string;
  /** Import the module named by `app` to get the tree (default true; a reload does not). */
  loadApp?: boolean;
  /** Re-import a config module instead of reusing its first import (a reload's number, > 0). */
  fresh?: number;
}

export interface ResolvedConfig {
  /** Every field in force, defaults filled in; `secret`/`adminToken` read from their files when those won. */
  config: EffectiveConfig;
  /** Where each value came from, by field path (`threads`, `health.degradedLagMs`, `alerts.rules`). */
  sources: Record<string, ConfigSource>;
  /** The config file used (absolute), or undefined. */
  file: string | undefined;
  /** sha256 of the config file's bytes (undefined without a file). */
  digest: string | undefined;
  /** The app's supervisor tree (the module's `supervisor` or `app`'s export); undefined: the demo swarm. */
  supervisor: SupervisorSpec | undefined;
  /** The app's `setup` (the config module's or `app`'s export), called once the node runs; undefined: none. */
  setup: AppSetup | undefined;
}

/** `apiary start`'s flags, for node:util parseArgs (shared with verbs that take the same flags). */
export const START_FLAGS: NonNullable<ParseArgsConfig['options']> = Object.fromEntries([
  [CONFIG_FILE_FLAG, { type: 'string' }],
  ...CONFIG_FIELDS.filter((f) => f.flag !== undefined).map((f) => [f.flag!, { type: f.kind === 'boolean' ? 'boolean' : 'string' }] as const),
]);

/** Fields holding a file path. */
const PATH_FIELDS = ['secretFile', 'adminTokenFile', 'tlsCert', 'tlsKey', 'tlsCa'] as const;

const SETUP_EXPECTED = 'a function (node) => … (runtime/node/app-setup.ts)';

const RANK: Record<ConfigSource['kind'], number> = { default: 0, file: 1, env: 2, flag: 3 };

/**
 * Resolves the config `apiary start` runs with (`apiary config` prints it, `apiary doctor`
 * checks it). Throws {@link ConfigError} (`ERR_INVALID_CONFIG`) listing every bad field —
 * an unknown flag, a bad value from any source (also one a higher source overrides), an
 * unreadable secret file, a file that does not parse — and starts nothing.
 */
export async function resolveConfig(inputs: ResolveInputs): Promise<ResolvedConfig> {
  const { env, cwd } = inputs;
  const flags = parseFlags(inputs.argv, cwd);
  const issues: ConfigIssue[] = [];
  const add = (found: SchemaIssue[], sourceAt: (path: string) => ConfigSource): void => {
    for (const i of found) issues.push(toIssue(i.path.join('.'), sourceAt(i.path.join('.')), i.expected, i.received, cwd));
  };

  // the sources, lowest first
  const envLayer = layerFrom(CONFIG_FIELDS, (f) => (f.env === undefined ? undefined : env[f.env]), (f) => ({ kind: 'env', from: f.env! }));
  const flagLayer = layerFrom(
    CONFIG_FIELDS,
    (f) => (f.flag === undefined ? undefined : (flags[f.flag] as string | boolean | undefined)),
    (f) => ({ kind: 'flag', from: `--${f.flag}` }),
  );
  const choice = chooseConfigFile(flags[CONFIG_FILE_FLAG] as string | undefined, env, cwd);
  const loaded = choice === undefined ? undefined : await loadConfigFile(choice, cwd, inputs.fresh ?? 0);
  const fileSource: ConfigSource | undefined = loaded === undefined ? undefined : { kind: 'file', from: loaded.file };
  const fileFields = loaded?.fields;

  if (loaded !== undefined) {
    add(checkConfig(fileFields), () => fileSource!);
    if (loaded.supervisor !== undefined && !isSupervisorSpec(loaded.supervisor)) {
      issues.push(toIssue('supervisor', fileSource!, 'supervisor({...})', loaded.supervisor, cwd));
    }
    if (loaded.supervisor !== undefined && isPlainObject(fileFields) && fileFields.app !== undefined) {
      issues.push(toIssue('app', fileSource!, 'not given with a supervisor export (one tree per node)', fileFields.app, cwd));
    }
    if (loaded.setup !== undefined && typeof loaded.setup !== 'function') issues.push(toIssue('setup', fileSource!, SETUP_EXPECTED, loaded.setup, cwd));
  }
  add(checkConfig(envLayer.value), (path) => sourceOf(envLayer.sources, path) ?? envLayer.source);
  add(checkConfig(flagLayer.value), (path) => sourceOf(flagLayer.sources, path) ?? flagLayer.source);

  const file = (isPlainObject(fileFields) ? fileFields : {}) as NodeConfig;
  const hasApp = loaded?.supervisor !== undefined || file.app !== undefined;
  const sources: Record<string, ConfigSource> = {};
  const merged: Record<string, unknown> = {};
  mergeInto(merged, configDefaults(hasApp) as Record<string, unknown>, { kind: 'default', from: 'default' }, sources, '');
  if (fileSource !== undefined) mergeInto(merged, file as Record<string, unknown>, fileSource, sources, '');
  mergeInto(merged, envLayer.value, envLayer.source, sources, '', envLayer.sources);
  mergeInto(merged, flagLayer.value, flagLayer.source, sources, '', flagLayer.sources);

  // paths in a config file are relative to its folder; from flags and variables, to cwd
  for (const field of PATH_FIELDS) {
    const path = merged[field];
    if (typeof path === 'string') merged[field] = resolve(sources[field]?.kind === 'file' ? dirname(sources[field]!.from) : cwd, path);
  }
  // a secret given directly or as a file: the higher source wins; the same source must not give both
  for (const [field, fileField] of [
    ['secret', 'secretFile'],
    ['adminToken', 'adminTokenFile'],
  ] as const) {
    const direct = sources[field];
    const viaFile = sources[fileField];
    if (direct !== undefined && viaFile !== undefined) {
      if (RANK[direct.kind] === RANK[viaFile.kind]) {
        issues.push(toIssue(fileField, viaFile, `not allowed together with ${field} in the same source (keep one)`, merged[fileField], cwd));
        continue;
      }
      const loser = RANK[direct.kind] > RANK[viaFile.kind] ? fileField : field;
      delete merged[loser];
      delete sources[loser];
    }
    if (sources[fileField] !== undefined) {
      const path = String(merged[fileField]);
      const read = readSecretFile(path);
      if (typeof read === 'string') {
        merged[field] = read;
        sources[field] = sources[fileField]!;
      } else issues.push(toIssue(fileField, sources[fileField]!, read.expected, path, cwd));
    }
  }
  for (const field of ['tlsCert', 'tlsKey', 'tlsCa'] as const) {
    const path = merged[field];
    if (typeof path !== 'string') continue;
    try {
      accessSync(path, constants.R_OK);
    } catch (err) {
      issues.push(toIssue(field, sources[field]!, `a readable file (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`, path, cwd));
    }
  }
  // between fields: only once each field is fine on its own
  if (issues.length === 0) add(checkCombined(merged as NodeConfig), (path) => sourceOf(sources, path) ?? { kind: 'default', from: 'default' });
  if (issues.length > 0) throw new ConfigError(issues);

  const config = merged as unknown as EffectiveConfig;
  let supervisor = loaded?.supervisor as SupervisorSpec | undefined;
  let setup = loaded?.setup as AppSetup | undefined;
  if (config.app !== undefined && (inputs.loadApp ?? true)) {
    const app = await loadApp(config.app, loaded!.file, cwd);
    supervisor = app.supervisor;
    if (app.setup !== undefined) {
      if (typeof app.setup !== 'function') throw new ConfigError([toIssue('app', fileSource!, `a module whose \`setup\` export is ${SETUP_EXPECTED}`, app.setup, cwd)]);
      if (setup !== undefined) throw new ConfigError([toIssue('app', fileSource!, 'not given with a setup export (one setup per node)', config.app, cwd)]);
      setup = app.setup as AppSetup;
    }
  }
  return { config, sources, file: loaded?.file, digest: loaded?.digest, supervisor, setup };
}

/** The source of `path` or of the nearest enclosing field that has one. */
export function sourceOf(sources: Record<string, ConfigSource>, path: string): ConfigSource | undefined {
  for (let p = path; ; p = p.slice(0, p.lastIndexOf('.'))) {
    if (sources[p] !== undefined) return sources[p];
    if (!p.includes('.')) return undefined;
  }
}

/**
 * Parses `start`'s flags; throws node:util's parseArgs errors (`ERR_PARSE_ARGS_*`) for an
 * unknown flag, a positional argument or a flag without its value. The CLI calls this first,
 * so such usage errors read as they do for every verb; values are checked by the schema.
 */
export function parseStartFlags(argv: readonly string[]): Record<string, string | boolean | undefined> {
  return parseArgs({ args: flagArgs(argv), options: START_FLAGS, strict: true, allowPositionals: false }).values as Record<string, string | boolean>;
}

/** `--threads -1`: a negative number is the flag's value, not another flag. */
function flagArgs(argv: readonly string[]): string[] {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    const takesValue = a.startsWith('--') && !a.includes('=') && START_FLAGS[a.slice(2)]?.type === 'string';
    if (takesValue && next !== undefined && /^-\d/.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  return args;
}

function parseFlags(argv: readonly string[], cwd: string): Record<string, string | boolean | undefined> {
  const args = flagArgs(argv);
  try {
    return parseStartFlags(argv);
  } catch (err) {
    const message = (err as Error).message;
    const code = (err as { code?: string }).code;
    const quoted = /'([^']+)'/.exec(message)?.[1] ?? '';
    const flag = quoted.split(' ')[0] ?? quoted;
    const field = CONFIG_FIELDS.find((f) => f.flag !== undefined && `--${f.flag}` === flag)?.field ?? flag;
    const source: ConfigSource = { kind: 'flag', from: flag };
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      throw new ConfigError([toIssue(flag, source, 'not a flag of apiary start (see apiary start --help)', undefined, cwd)]);
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      throw new ConfigError([toIssue(quoted, { kind: 'flag', from: quoted }, 'not an argument apiary start takes (flags only)', quoted, cwd)]);
    }
    const boolean = START_FLAGS[flag.slice(2)]?.type === 'boolean';
    const given = boolean ? args.find((a) => a.startsWith(`${flag}=`)) : undefined;
    throw new ConfigError([toIssue(field, source, boolean ? 'given without a value' : 'followed by a value', given, cwd)]);
  }
}

interface Layer {
  value: Record<string, unknown>;
  /** Per field path: the flag or variable it came from. */
  sources: Record<string, ConfigSource>;
  /** The layer as a whole (flags or environment). */
  source: ConfigSource;
}

function layerFrom(fields: readonly FieldInfo[], raw: (f: FieldInfo) => string | boolean | undefined, source: (f: FieldInfo) => ConfigSource): Layer {
  const value: Record<string, unknown> = {};
  const sources: Record<string, ConfigSource> = {};
  for (const f of fields) {
    const r = raw(f);
    if (r === undefined || r === '') continue; // an empty variable counts as unset
    setPath(value, f.field, coerce(r, f.kind));
    sources[f.field] = source(f);
  }
  // every value has its own entry in `sources`; `source` only names the layer
  const kind = fields.length > 0 ? source(fields[0]!).kind : 'env';
  return { value, sources, source: { kind, from: kind === 'flag' ? '--' : 'APIARY_*' } };
}

/** A string from a flag or variable as the schema checks it; left as text when it does not convert (the schema says what was expected). */
function coerce(raw: string | boolean, kind: FieldInfo['kind']): unknown {
  if (typeof raw === 'boolean') return raw;
  switch (kind) {
    case 'string':
      return raw;
    case 'number':
      return /^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(raw) ? Number(raw) : raw;
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      return raw;
    }
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let t = target;
  for (const k of keys.slice(0, -1)) t = (t[k] ??= {}) as Record<string, unknown>;
  t[keys[keys.length - 1]!] = value;
}

/**
 * Merges `layer` over `target`: plain objects field by field, anything else (values, lists,
 * channel objects) as a whole; records each value's source (by field path, from
 * `perPath` when the layer knows it per field).
 */
function mergeInto(
  target: Record<string, unknown>,
  layer: Record<string, unknown>,
  source: ConfigSource,
  sources: Record<string, ConfigSource>,
  prefix: string,
  perPath?: Record<string, ConfigSource>,
): void {
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue;
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (isPlainObject(value) && Object.keys(value).length > 0) {
      const current = target[key];
      if (!isPlainObject(current)) forget(sources, path);
      target[key] = isPlainObject(current) ? { ...current } : {};
      mergeInto(target[key] as Record<string, unknown>, value, source, sources, path, perPath);
    } else {
      target[key] = isPlainObject(value) ? {} : value;
      forget(sources, path);
      sources[path] = perPath?.[path] ?? source;
    }
  }
}

function forget(sources: Record<string, ConfigSource>, path: string): void {
  for (const k of Object.keys(sources)) if (k === path || k.startsWith(`${path}.`)) delete sources[k];
}

/** The secret in `path` (one trailing newline dropped), or why it cannot be used. */
function readSecretFile(path: string): string | { expected: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { expected: `a readable file (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})` };
  }
  const secret = text.replace(/\r?\n$/, '');
  return secret.length > 0 ? secret : { expected: 'a file that is not empty' };
}


function toIssue(field: string, source: ConfigSource, expected: string, received: unknown, cwd: string): ConfigIssue {
  const shown = SECRET_FIELDS.has(field) && received !== undefined ? '********' : received;
  return { field, source, expected, received: shown, message: issueLine(field, source, expected, shown, cwd) };
}
