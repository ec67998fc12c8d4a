/**
 * The settings of a node that change while it runs (hot reload): alert rules and channels,
 * named rate limits and named degradation settings. One registry per ActorSystem
 * (`system.settings`), read by whoever follows them: the alert engine, a `RateLimiter` or
 * `DegradationController` created with a `name` that config knows.
 *
 * Owns: the current values and `changes$` (which named entries changed). An entry that did
 * not change keeps its object identity, so a follower can compare by identity.
 * Does not own: validating values (runtime/config/schema.ts does, before `update`), reading
 * files or signals (reload.ts), or what followers do with a change.
 * Threads: the main thread's; followers on worker threads do not see it.
 */
import { Subject, type Observable } from 'rxjs';
import type { AlertChannel, AlertRule } from '../observability/alerts.js';

/**
 * A named rate limit from config (`rateLimits: { "summary-api": { … } }`): each field given
 * replaces the one the limiter was created with in code; fields left out keep the code's.
 */
export interface RateLimitSettings {
  /** Tokens added each interval (≥ 1). */
  tokens?: number;
  /** Refill interval, ms (> 0). */
  intervalMs?: number;
  /** Most tokens a bucket holds (≥ 1). */
  burst?: number;
  /** How long `acquire` waits for a token before rejecting `ERR_RATE_LIMITED`, ms (≥ 0). */
  maxWaitMs?: number;
}

/** A degradation rule as data: demand `level` while `signal op value` holds. */
export interface DegradationRuleSettings {
  level: 'FULL' | 'REDUCED' | 'MINIMAL' | 'EMERGENCY';
  /** A signal name: `health`, or one the application feeds with `controller.update({...})`. */
  signal: string;
  /** Numbers compare numerically; `health` compares by healthy < degraded < critical < failed; other strings by `==`/`!=`. */
  op: '>' | '>=' | '<' | '<=' | '==' | '!=';
  value: number | string;
}

/**
 * Named degradation settings from config (`degradation: { swarm: { … } }`): `rules`, when
 * given, replace the controller's rules from code; `recoverAfterMs` its hysteresis.
 */
export interface DegradationSettings {
  recoverAfterMs?: number;
  rules?: DegradationRuleSettings[];
}

/** The alert rules and channels in force. */
export interface AlertSettings {
  readonly rules: readonly AlertRule[];
  readonly channels: readonly AlertChannel[];
}

/** What {@link LiveSettings.update} takes: each part given replaces that part as a whole. */
export interface LiveSettingsValues {
  alerts?: AlertSettings;
  rateLimits?: Record<string, RateLimitSettings>;
  degradation?: Record<string, DegradationSettings>;
}

/** What changed in one update: `alerts.rules`, `alerts.channels`, `rateLimits.NAME`, `degradation.NAME`. */
export interface SettingsChange {
  changed: string[];
}

/** The live settings of one node; see the module header. */
export class LiveSettings {
  private alertSettings: AlertSettings;
  private readonly limits = new Map<string, RateLimitSettings>();
  private readonly controllers = new Map<string, DegradationSettings>();
  private readonly changes = new Subject<SettingsChange>();
  /** One event per {@link update} that changed something. */
  readonly changes$: Observable<SettingsChange> = this.changes.asObservable();

  constructor(initial: { alerts: AlertSettings; rateLimits?: Record<string, RateLimitSettings>; degradation?: Record<string, DegradationSettings> }) {
    this.alertSettings = { rules: [...initial.alerts.rules], channels: [...initial.alerts.channels] };
    for (const [name, s] of Object.entries(initial.rateLimits ?? {})) this.limits.set(name, { ...s });
    for (const [name, s] of Object.entries(initial.degradation ?? {})) this.controllers.set(name, { ...s });
  }

  /** The alert rules and channels the node's alert engine uses now. */
  get alerts(): AlertSettings {
    return this.alertSettings;
  }

  /** The config's rate limit called `name`, or undefined (the limiter keeps its code's values). */
  rateLimit(name: string): RateLimitSettings | undefined {
    return this.limits.get(name);
  }

  /** The config's degradation settings called `name`, or undefined (the controller keeps its code's). */
  degradation(name: string): DegradationSettings | undefined {
    return this.controllers.get(name);
  }

  /** Every named rate limit and degradation setting, for display. */
  snapshot(): { rateLimits: Record<string, RateLimitSettings>; degradation: Record<string, DegradationSettings> } {
    return { rateLimits: Object.fromEntries(this.limits), degradation: Object.fromEntries(this.controllers) };
  }

  /**
   * Replaces the parts given (a named entry absent from a given map is removed) and tells
   * `changes$` what changed; returns the same list (empty: nothing changed, nothing told).
   * Values must have been validated (the config schema does).
   */
  update(next: LiveSettingsValues): string[] {
    const changed: string[] = [];
    if (next.alerts !== undefined) {
      const rulesChanged = !sameData(next.alerts.rules, this.alertSettings.rules);
      const channelsChanged = !sameData(next.alerts.channels, this.alertSettings.channels);
      if (rulesChanged) changed.push('alerts.rules');
      if (channelsChanged) changed.push('alerts.channels');
      if (rulesChanged || channelsChanged) this.alertSettings = { rules: [...next.alerts.rules], channels: [...next.alerts.channels] };
    }
    if (next.rateLimits !== undefined) changed.push(...replaceNamed(this.limits, next.rateLimits, 'rateLimits'));
    if (next.degradation !== undefined) changed.push(...replaceNamed(this.controllers, next.degradation, 'degradation'));
    if (changed.length > 0) this.changes.next({ changed });
    return changed;
  }

  /** Ends `changes$` (the system stopped). */
  close(): void {
    this.changes.complete();
  }
}

function replaceNamed<T>(map: Map<string, T>, next: Record<string, T>, prefix: string): string[] {
  const changed: string[] = [];
  for (const name of map.keys()) {
    if (!(name in next)) {
      map.delete(name);
      changed.push(`${prefix}.${name}`);
    }
  }
  for (const [name, value] of Object.entries(next)) {
    if (!sameData(map.get(name), value)) {
      map.set(name, { ...value });
      changed.push(`${prefix}.${name}`);
    }
  }
  return changed;
}

/**
 * Deep equality of config values: plain data by value; anything else (an alert channel
 * object from a config module, a function) by identity.
 */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => sameData(v, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => sameData(a[k], b[k]));
  }
  return false;
}

/** An object literal (or JSON/YAML object), not a class instance, array or function. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
