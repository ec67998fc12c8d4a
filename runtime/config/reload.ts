/**
 * Hot reload of a running node's config, on SIGHUP and when its config file changes.
 *
 * Owns: re-resolving the config with the start's flags and environment (they keep winning
 * over the file), the diff against what runs ({@link diffConfig}), applying the live fields —
 * the log level (the logger's `setLevel`), alert rules and channels, named rate limits and
 * degradation settings (`system.settings`) — and reporting the rest as "needs a restart"
 * (logged, not applied). A reload with a bad field changes nothing and logs why. Each
 * reload is a `config-reloaded` or `config-rejected` event on `system.events$`.
 * Does not own: the tree (a changed `app` or module `supervisor` takes effect at the next
 * start), what followers do with new settings (live-settings.ts), or what is valid (schema.ts).
 * Time: a debounce timer for file events (real time, main thread); reloads run one at a time.
 */
import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname } from 'node:path';
import type { ActorSystem } from '../node/actor-system.js';
import type { Logger } from '../logging/logger.js';
import type { AlertChannel } from '../observability/alerts.js';
import { alertChannelsFrom } from './build-options.js';
import { ConfigError } from './config-error.js';
import { CONFIG_DEFAULTS } from './defaults.js';
import { isPlainObject, sameData } from './live-settings.js';
import { LIVE_FIELDS, type EffectiveConfig } from './node-config.js';
import { resolveConfig, type ResolveInputs, type ResolvedConfig } from './resolve.js';

/** What one reload did. */
export interface ReloadOutcome {
  /** False when the new config had bad fields (nothing changed). */
  ok: boolean;
  /** Changed live: `logLevel`, `alerts.rules`, `alerts.channels`, `rateLimits.NAME`, `degradation.NAME`. */
  applied: string[];
  /** Changed in the file but left as it runs until the next start (e.g. `threads`, `health.checkMs`). */
  needsRestart: string[];
  /** One line per bad field of a rejected reload. */
  errors: string[];
}

export interface ReloadOptions {
  /** The signal that reloads; default SIGHUP; false: none. */
  signal?: NodeJS.Signals | false;
  /** Watch the config file (default: the config's `watchConfig`, true unless set). */
  watch?: boolean;
  /** Quiet time after a file event before reloading, ms. */
  debounceMs?: number;
  /** The channel a `console` alert channel stands for (`apiary start`: the node's log channel). */
  consoleChannel?: AlertChannel;
}

/**
 * What changed between the running config and `next`, by field path: live fields as
 * `applied` candidates (named entries one by one), the others to the leaf that changed.
 */
export function diffConfig(running: EffectiveConfig, next: EffectiveConfig): { live: string[]; restart: string[] } {
  const live: string[] = [];
  const restart: string[] = [];
  const a = running as unknown as Record<string, unknown>;
  const b = next as unknown as Record<string, unknown>;
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (sameData(a[key], b[key])) continue;
    if (!LIVE_FIELDS.has(key)) restart.push(...changedPaths(a[key], b[key], key));
    else if (key === 'logLevel') live.push(key);
    else live.push(...changedPaths(a[key], b[key], key, 1));
  }
  return { live, restart };
}

/** The paths under `prefix` whose values differ, down to `depth` levels of plain objects (unlimited by default). */
function changedPaths(a: unknown, b: unknown, prefix: string, depth = Infinity): string[] {
  if (depth <= 0 || !isPlainObject(a) || !isPlainObject(b)) return sameData(a, b) ? [] : [prefix];
  const out: string[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) out.push(...changedPaths(a[k], b[k], `${prefix}.${k}`, depth - 1));
  return out;
}

/** Reloads a running node's config; see the module header. */
export class ConfigReloader {
  private running: ResolvedConfig;
  private reloads = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private readonly onSignal = (): void => void this.reload('signal');
  private closed = false;

  constructor(
    initial: ResolvedConfig,
    private readonly inputs: ResolveInputs,
    private readonly system: ActorSystem,
    private readonly logger: Logger,
    private readonly options: ReloadOptions = {},
  ) {
    this.running = initial;
  }

  /** The config as it runs now (live fields as last applied, the others as started). */
  get config(): EffectiveConfig {
    return this.running.config;
  }

  /** Starts listening for the signal and watching the file. */
  start(): this {
    const signal = this.options.signal ?? 'SIGHUP';
    if (signal !== false) process.on(signal, this.onSignal);
    const file = this.running.file;
    if (file !== undefined && (this.options.watch ?? this.running.config.watchConfig)) {
      try {
        // the folder, not the file: editors replace a file by renaming a new one over it
        this.watcher = watch(dirname(file), (_event, name) => {
          if (name === null || name === basename(file)) this.fileChanged();
        });
        this.watcher.unref(); // never what keeps a process alive
        this.watcher.on('error', (err) => {
          this.logger.warn('config file watch failed; SIGHUP still reloads', { file, error: err.message });
          this.watcher?.close();
          this.watcher = undefined;
        });
      } catch (err) {
        this.logger.warn('cannot watch the config file; SIGHUP still reloads', { file, error: (err as Error).message });
      }
    }
    return this;
  }

  /** Stops listening and watching (a reload under way finishes). */
  close(): void {
    this.closed = true;
    const signal = this.options.signal ?? 'SIGHUP';
    if (signal !== false) process.off(signal, this.onSignal);
    this.watcher?.close();
    this.watcher = undefined;
    clearTimeout(this.debounce);
  }

  /** Reloads now (after any reload under way); resolves with what it did. Never rejects. */
  reload(trigger: 'signal' | 'watch' | 'call' = 'call'): Promise<ReloadOutcome> {
    const next = this.queue.then(() => this.reloadNow(trigger));
    this.queue = next;
    return next;
  }

  private fileChanged(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      if (this.closed) return;
      // editors fire several events per save, and some touch without changing anything
      let digest: string | undefined;
      try {
        digest = createHash('sha256').update(readFileSync(this.running.file!)).digest('hex');
      } catch {
        return; // between a delete and the rename of the new file: the next event reloads
      }
      if (digest === this.running.digest) return;
      void this.reload('watch');
    }, this.options.debounceMs ?? CONFIG_DEFAULTS.watchDebounceMs);
    this.debounce.unref();
  }

  private async reloadNow(trigger: 'signal' | 'watch' | 'call'): Promise<ReloadOutcome> {
    const file = this.running.file;
    this.logger.debug('config reload requested', { trigger, file });
    let next: ResolvedConfig;
    try {
      next = await resolveConfig({ ...this.inputs, loadApp: false, fresh: ++this.reloads });
    } catch (err) {
      const errors = err instanceof ConfigError ? err.issues.map((i) => i.message) : [(err as Error)?.message ?? String(err)];
      this.logger.error(`config reload refused, nothing changed: ${errors.join('; ')}`, { trigger, file, errors });
      this.system.publish({ type: 'config-rejected', file, errors, at: this.system.clock.now() });
      return { ok: false, applied: [], needsRestart: [], errors };
    }
    const running = this.running.config;
    const diff = diffConfig(running, next.config);
    const applied = this.apply(next.config, diff.live);
    const config = { ...running, logLevel: next.config.logLevel, alerts: next.config.alerts, rateLimits: next.config.rateLimits, degradation: next.config.degradation };
    this.running = { ...this.running, config, digest: next.digest };
    if (diff.restart.length > 0) {
      this.logger.warn(`config changed, needs a restart (not applied): ${diff.restart.join(', ')}`, { file: next.file, needsRestart: diff.restart });
    }
    this.logger.info(applied.length > 0 ? `config reloaded: ${applied.join(', ')}` : 'config reloaded: nothing to change live', {
      trigger,
      file: next.file,
      applied,
      needsRestart: diff.restart,
    });
    this.system.publish({ type: 'config-reloaded', file: next.file, applied, needsRestart: diff.restart, at: this.system.clock.now() });
    return { ok: true, applied, needsRestart: diff.restart, errors: [] };
  }

  /** Applies the live changes; returns them. */
  private apply(next: EffectiveConfig, live: string[]): string[] {
    if (live.includes('logLevel')) this.logger.setLevel(next.logLevel);
    const settings = this.system.settings;
    const channelsChanged = live.includes('alerts.channels');
    const alerts =
      live.includes('alerts.rules') || channelsChanged
        ? {
            rules: next.alerts.rules,
            channels: channelsChanged ? alertChannelsFrom(next.alerts.channels, this.system.clock, this.options.consoleChannel) : settings.alerts.channels,
          }
        : undefined;
    settings.update({
      ...(alerts !== undefined ? { alerts } : {}),
      ...(live.some((k) => k.startsWith('rateLimits.')) ? { rateLimits: next.rateLimits } : {}),
      ...(live.some((k) => k.startsWith('degradation.')) ? { degradation: next.degradation } : {}),
    });
    return live;
  }
}
