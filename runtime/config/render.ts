/**
 * The effective config for people and scripts (`apiary config`, and `apiary doctor` if it
 * shows it): every value in force with where it came from, secrets masked.
 *
 * Owns: masking (the cluster secret and the admin token never print; file paths do, their
 * contents never; a webhook URL prints its origin only) and the two renderings, a table and JSON. Does not own: resolving (resolve.ts).
 */
import type { AlertRule } from '../observability/alerts.js';
import { displayPath, type ConfigSource } from './config-error.js';
import { isPlainObject } from './live-settings.js';
import { CONFIG_FIELDS, SECRET_FIELDS, type EffectiveConfig } from './node-config.js';
import { sourceOf, type ResolvedConfig } from './resolve.js';

export const MASK = '********';

/** The JSON form: `{ file, config, sources }`, secrets masked, channel objects named. */
export interface ConfigReport {
  file: string | null;
  /** `app` (its tree), `module` (a config module's tree) or `demo`. */
  runs: 'app' | 'module' | 'demo';
  config: Record<string, unknown>;
  /** By field path, as in {@link ResolvedConfig.sources}. */
  sources: Record<string, ConfigSource>;
}

/** The config with secrets replaced by {@link MASK} and alert channel objects by a name. */
export function maskedConfig(config: EffectiveConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  for (const f of SECRET_FIELDS) if (out[f] !== undefined) out[f] = MASK;
  out.alerts = { ...config.alerts, channels: config.alerts.channels.map(channelName) };
  return out;
}

export function configReport(resolved: ResolvedConfig): ConfigReport {
  const runs = resolved.config.app !== undefined ? 'app' : resolved.supervisor !== undefined ? 'module' : 'demo';
  return { file: resolved.file ?? null, runs, config: maskedConfig(resolved.config), sources: resolved.sources };
}

/** A table: one row per value (`field  value  source`), preceded by the file and what runs. */
export function renderConfig(resolved: ResolvedConfig, cwd: string): string {
  const { config, sources, file } = resolved;
  const rows: [string, string, string][] = [];
  const from = (path: string): string => {
    const s = sourceOf(sources, path);
    if (s === undefined || s.kind === 'default') return 'default';
    return s.kind === 'file' ? `file ${displayPath(s.from, cwd)}` : `${s.kind} ${s.from}`;
  };
  const masked = maskedConfig(config);
  const walk = (value: unknown, path: string): void => {
    if (isPlainObject(value) && Object.keys(value).length > 0) {
      for (const [k, v] of Object.entries(value)) if (v !== undefined) walk(v, `${path}.${k}`);
      return;
    }
    if (path === 'alerts.rules') {
      const rules = value as AlertRule[];
      if (rules.length === 0) rows.push([path, '(none)', from(path)]);
      rules.forEach((r, i) => rows.push([`${path}[${i}]`, describeRule(r), from(path)]));
      return;
    }
    if (path === 'alerts.channels') {
      const channels = value as unknown[];
      rows.push([path, channels.length === 0 ? '(none)' : channels.map(describeChannel).join(', '), from(path)]);
      return;
    }
    rows.push([path, describeValue(value), from(path)]);
  };
  for (const key of orderedKeys(masked)) walk(masked[key], key);
  const runs = config.app !== undefined ? `the app in ${config.app}` : resolved.supervisor !== undefined ? 'the config module\'s supervisor tree' : 'the demo swarm';
  const head = `config file: ${file === undefined ? '(none)' : displayPath(file, cwd)} · runs ${runs}`;
  const w0 = Math.max(5, ...rows.map((r) => r[0].length));
  const w1 = Math.min(60, Math.max(5, ...rows.map((r) => r[1].length)));
  const line = (r: [string, string, string]): string => `${r[0].padEnd(w0)}  ${r[1].padEnd(w1)}  ${r[2]}`.trimEnd();
  return [head, '', line(['field', 'value', 'from']), ...rows.map(line)].join('\n');
}

/** Top-level keys in the order of the flags table, then the rest as they come. */
function orderedKeys(config: Record<string, unknown>): string[] {
  const first = CONFIG_FIELDS.map((f) => f.field.split('.')[0]!).filter((k, i, all) => all.indexOf(k) === i && config[k] !== undefined);
  return [...first, ...Object.keys(config).filter((k) => !first.includes(k) && config[k] !== undefined)];
}

function describeRule(r: AlertRule): string {
  const cond = `${String(r.metric)}${r.rate ? '/s' : ''} ${r.op} ${r.threshold}`;
  return `${r.name}: ${cond}${r.forMs ? ` for ${r.forMs} ms` : ''} (${r.severity})`;
}

function describeValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((x) => typeof x !== 'object' || x === null)) return v.length === 0 ? '(none)' : v.join(', ');
  if (isPlainObject(v) && Object.keys(v).length === 0) return '(none)';
  return JSON.stringify(v) ?? String(v);
}

/** A channel for display: a webhook's URL keeps only its origin (chat webhooks carry their key in the path). */
function channelName(c: unknown): unknown {
  if (!isPlainObject(c)) return 'object from the config module';
  if (c.type !== 'webhook') return c;
  const url = new URL(String(c.url));
  return { ...c, url: url.pathname === '/' && url.search === '' ? url.origin : `${url.origin}/…` };
}

function describeChannel(c: unknown): string {
  if (!isPlainObject(c)) return String(c);
  return c.type === 'webhook' ? `webhook ${String(c.url)}` : String(c.type);
}
