/**
 * Finding and reading a node's config file (yaml is imported here and nowhere else).
 *
 * Formats: a JS/TS module (`.js .mjs .cjs .ts .mts .cts`) exporting `{ supervisor, options,
 * setup }` (default export, or named exports), where `options` holds config fields; or a
 * JSON/YAML file (`.json .yaml .yml`) holding the config fields at top level, with the app's
 * tree named by `app: "./tree.mjs"` (a module whose default or `supervisor` export is the spec,
 * and whose `setup` export, if any, is the app's setup: runtime/node/app-setup.ts).
 * Owns: discovery in the working directory, parsing, module import (fresh on reload), the
 * app module, and turning every failure into a ConfigIssue about the file.
 * Does not own: checking the fields (schema.ts) or merging sources (resolve.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { isSupervisorSpec, type SupervisorSpec } from '../../supervisor/child-spec.js';
import { ConfigError, displayPath, issueLine, type ConfigIssue, type ConfigSource } from './config-error.js';
import { CONFIG_DEFAULTS } from './defaults.js';

const MODULE_EXTS = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts']);
const TS_EXTS = new Set(['.ts', '.mts', '.cts']);
const DATA_EXTS = new Set(['.json', '.yaml', '.yml']);

/** A config file, read. */
export interface LoadedFile {
  /** Absolute path. */
  file: string;
  format: 'module' | 'json' | 'yaml';
  /** The config fields as written (not yet checked). */
  fields: unknown;
  /** A module's `supervisor` export (not yet checked). */
  supervisor: unknown;
  /** A module's `setup` export (not yet checked: runtime/node/app-setup.ts). */
  setup: unknown;
  /** sha256 of the file's bytes: a watch event with the same digest changed nothing. */
  digest: string;
}

/** Where the file name came from, for issues about the file itself. */
export interface FileChoice {
  file: string;
  source: ConfigSource;
}

/**
 * The config file to use: `--config` (given as `flagValue`), else `APIARY_CONFIG`, else the
 * one `apiary.config.*` in `cwd`, else none. Throws ConfigError if a named file does not
 * exist or several candidates are found.
 */
export function chooseConfigFile(flagValue: string | undefined, env: Record<string, string | undefined>, cwd: string): FileChoice | undefined {
  const named: FileChoice | undefined =
    flagValue !== undefined
      ? { file: resolve(cwd, flagValue), source: { kind: 'flag', from: '--config' } }
      : env.APIARY_CONFIG !== undefined && env.APIARY_CONFIG !== ''
        ? { file: resolve(cwd, env.APIARY_CONFIG), source: { kind: 'env', from: 'APIARY_CONFIG' } }
        : undefined;
  if (named !== undefined) {
    if (!existsSync(named.file) || !statSync(named.file).isFile()) throw fileError(named, 'an existing config file', named.file, cwd);
    return named;
  }
  const found = CONFIG_DEFAULTS.discover.filter((f) => existsSync(resolve(cwd, f)));
  if (found.length > 1) {
    throw fileError({ file: resolve(cwd, found[0]!), source: { kind: 'default', from: 'default' } }, `one apiary.config.* file here (pass --config to pick one)`, found, cwd);
  }
  return found.length === 1 ? { file: resolve(cwd, found[0]!), source: { kind: 'default', from: 'default' } } : undefined;
}

/**
 * Reads `choice.file`. `fresh` (a reload number) re-imports a module instead of reusing the
 * first import. Throws ConfigError when the file cannot be read, parsed or imported.
 */
export async function loadConfigFile(choice: FileChoice, cwd: string, fresh = 0): Promise<LoadedFile> {
  const { file } = choice;
  const ext = extname(file).toLowerCase();
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw fileError(choice, 'a readable config file', (err as Error).message, cwd);
  }
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (DATA_EXTS.has(ext)) {
    const format = ext === '.json' ? 'json' : 'yaml';
    let fields: unknown;
    try {
      fields = format === 'json' ? JSON.parse(bytes.toString('utf8')) : parseYaml(bytes.toString('utf8'));
    } catch (err) {
      const first = (err as Error).message.split('\n')[0]!;
      const where = err instanceof YAMLParseError && err.linePos && !first.includes('line') ? ` at line ${err.linePos[0].line}` : '';
      const what = format === 'json' ? 'JSON' : 'YAML';
      const reason = `${first}${where}`;
      const source: ConfigSource = choice.source.kind === 'default' ? { kind: 'file', from: file } : choice.source;
      throw new ConfigError([{ field: 'config', source, expected: `valid ${what}`, received: reason, message: `${displayPath(file, cwd)} is not valid ${what}: ${reason}` }]);
    }
    if (fields === null || fields === undefined) fields = {}; // an empty YAML file
    return { file, format, fields, supervisor: undefined, setup: undefined, digest };
  }
  if (!MODULE_EXTS.has(ext)) throw fileError(choice, 'a .js, .mjs, .ts, .mts, .json, .yaml or .yml file', file, cwd);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(`${pathToFileURL(file).href}${fresh > 0 ? `?reload=${fresh}` : ''}`)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (TS_EXTS.has(ext) && (code === 'ERR_UNKNOWN_FILE_EXTENSION' || code === 'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING')) {
      throw fileError(
        choice,
        "a config Node can load: a .ts config needs TypeScript support (run apiary under tsx: NODE_OPTIONS='--import tsx' apiary start …, or Node >= 22.6 with --experimental-strip-types), or use .js/.mjs/.json/.yaml",
        file,
        cwd,
      );
    }
    throw fileError(choice, 'a module that loads', `${(err as Error)?.message ?? String(err)}`.split('\n')[0], cwd);
  }
  const exported = (mod.default ?? mod) as Record<string, unknown>;
  if (exported === null || typeof exported !== 'object') throw fileError(choice, 'a module exporting { supervisor, options }', exported, cwd);
  if (mod.default !== undefined) {
    const extra = Object.keys(exported).filter((k) => k !== 'supervisor' && k !== 'options' && k !== 'setup');
    if (extra.length > 0) {
      const source: ConfigSource = { kind: 'file', from: file };
      throw new ConfigError(
        extra.map((k) => issue(k, source, 'not a known export (a config module exports { supervisor, options, setup }; put config fields under options)', exported[k], cwd)),
      );
    }
  }
  return { file, format: 'module', fields: exported.options ?? {}, supervisor: exported.supervisor, setup: exported.setup, digest };
}

/**
 * Imports the app module named by `app` (relative to the config file's folder) and returns
 * its supervisor spec (default export, `supervisor` export, or a default `{ supervisor }`)
 * and its `setup` export (named, or in a default `{ supervisor, setup }`; not yet checked).
 * Throws ConfigError (field `app`) otherwise.
 */
export async function loadApp(app: string, configFile: string, cwd: string): Promise<{ supervisor: SupervisorSpec; setup: unknown }> {
  const path = isAbsolute(app) ? app : resolve(dirname(configFile), app);
  const source: ConfigSource = { kind: 'file', from: configFile };
  if (!existsSync(path)) throw new ConfigError([issue('app', source, `an existing module (looked for ${path})`, app, cwd)]);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError([issue('app', source, `a module that loads (${`${(err as Error)?.message ?? err}`.split('\n')[0]})`, app, cwd)]);
  }
  const def = mod.default as { supervisor?: unknown; setup?: unknown } | undefined;
  const spec = isSupervisorSpec(def) ? def : isSupervisorSpec(mod.supervisor) ? mod.supervisor : def?.supervisor;
  if (!isSupervisorSpec(spec)) {
    throw new ConfigError([issue('app', source, 'a module whose default (or `supervisor`) export is supervisor({...})', app, cwd)]);
  }
  return { supervisor: spec, setup: mod.setup ?? (isSupervisorSpec(def) ? undefined : def?.setup) };
}

function issue(field: string, source: ConfigSource, expected: string, received: unknown, cwd: string): ConfigIssue {
  return { field, source, expected, received, message: issueLine(field, source, expected, received, cwd) };
}

/** An issue about the config file itself (field `config`). */
function fileError(choice: FileChoice, expected: string, received: unknown, cwd: string): ConfigError {
  const source = choice.source.kind === 'default' ? { kind: 'file' as const, from: choice.file } : choice.source;
  return new ConfigError([issue('config', source, expected, received, cwd)]);
}
