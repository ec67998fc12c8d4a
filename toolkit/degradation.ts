/**
 * Graceful degradation: the levels FULL → REDUCED → MINIMAL → EMERGENCY, chosen by rules
 * over health states and other signals, with hysteresis.
 *
 * Owns: the pure step ({@link degradationStep}): the level every rule demands is the worst
 * of them; a worse level applies at once, a better one only after it has been demanded
 * without a break for `recoverAfterMs` (a flapping signal cannot flap the swarm). The
 * {@link DegradationController} keeps one state, follows the node's `health` events (when
 * given a system), re-checks when a hysteresis window ends, publishes `degradation-level`
 * events and shows its level in `system.health()` (so in `/health`) and in the
 * `apiary_degradation_level` metric. Agents declare per level what they do
 * ({@link DegradationController.select}): a cheaper model, lower concurrency, dropping low work.
 * A controller with a system follows the config's `degradation: { NAME: { rules,
 * recoverAfterMs } }` for its name (rules as data, {@link ruleFromSettings}) and re-evaluates
 * when a config reload changes them.
 * Time: the injected clock. Threads: the thread of its system (the main one).
 */
import type { Subscription } from 'rxjs';
import type { Clock, TimerHandle } from '../actors/foundation/clock.js';
import type { ActorSystem } from '../runtime/node/actor-system.js';
import type { SystemEvent } from '../actors/events.js';
import type { DegradationRuleSettings, DegradationSettings } from '../runtime/config/live-settings.js';
import { check } from './abort.js';
import { DEFAULTS } from './defaults.js';

export type DegradationLevel = 'FULL' | 'REDUCED' | 'MINIMAL' | 'EMERGENCY';
export const DEGRADATION_LEVELS: readonly DegradationLevel[] = ['FULL', 'REDUCED', 'MINIMAL', 'EMERGENCY'];

/** What rules look at: the node's health plus any numbers the application feeds in. */
export interface DegradationSignals {
  health: 'healthy' | 'degraded' | 'critical' | 'failed';
  [signal: string]: unknown;
}

/** A rule demands `level` while `when(signals)` holds. */
export interface DegradationRule {
  level: DegradationLevel;
  when: (signals: DegradationSignals) => boolean;
}

/** Health degraded → REDUCED, critical → MINIMAL, failed → EMERGENCY. */
export const HEALTH_RULES: readonly DegradationRule[] = [
  { level: 'REDUCED', when: (s) => s.health === 'degraded' },
  { level: 'MINIMAL', when: (s) => s.health === 'critical' },
  { level: 'EMERGENCY', when: (s) => s.health === 'failed' },
];

const HEALTH_ORDER = ['healthy', 'degraded', 'critical', 'failed'];

/**
 * A rule from config data: demands `level` while `signal op value` holds. Numbers compare
 * numerically, `health` by healthy < degraded < critical < failed, other strings only by
 * `==`/`!=`; a signal that is missing or of another type never holds.
 */
export function ruleFromSettings(r: DegradationRuleSettings): DegradationRule {
  const compare = (a: number, b: number): boolean => {
    switch (r.op) {
      case '>':
        return a > b;
      case '>=':
        return a >= b;
      case '<':
        return a < b;
      case '<=':
        return a <= b;
      case '==':
        return a === b;
      case '!=':
        return a !== b;
    }
  };
  return {
    level: r.level,
    when: (signals) => {
      const v = signals[r.signal];
      if (typeof v === 'number' && typeof r.value === 'number') return compare(v, r.value);
      if (typeof v !== 'string' || typeof r.value !== 'string') return false;
      if (r.signal === 'health' && HEALTH_ORDER.includes(v) && HEALTH_ORDER.includes(r.value)) {
        return compare(HEALTH_ORDER.indexOf(v), HEALTH_ORDER.indexOf(r.value));
      }
      return r.op === '==' ? v === r.value : r.op === '!=' ? v !== r.value : false;
    },
  };
}

export interface DegradationState {
  readonly level: DegradationLevel;
  /** Since when a better level has been demanded without a break (undefined: none is). */
  readonly betterSince: number | undefined;
}

const rank = (l: DegradationLevel): number => DEGRADATION_LEVELS.indexOf(l);

/** The level the rules demand for `signals`: the worst of them, FULL if none holds. */
export function demandedLevel(rules: readonly DegradationRule[], signals: DegradationSignals): DegradationLevel {
  let worst: DegradationLevel = 'FULL';
  for (const r of rules) if (rank(r.level) > rank(worst) && r.when(signals)) worst = r.level;
  return worst;
}

/** One step at `now` (pure): worse at once; better once demanded for `recoverAfterMs`. */
export function degradationStep(state: DegradationState, demanded: DegradationLevel, now: number, recoverAfterMs: number): DegradationState {
  if (rank(demanded) >= rank(state.level)) return { level: demanded, betterSince: undefined };
  const since = state.betterSince ?? now;
  if (now - since >= recoverAfterMs) return { level: demanded, betterSince: undefined };
  return { level: state.level, betterSince: since };
}

export interface DegradationOptions {
  /** Names it in events, `/health` and the metric. Default `swarm`. */
  name?: string;
  /** Default {@link HEALTH_RULES}. */
  rules?: readonly DegradationRule[];
  /** Hysteresis before stepping up, ms. Default 30 000. */
  recoverAfterMs?: number;
  /** Wires clock, events, health and `/health`; otherwise give `clock` (and `publish`). */
  system?: ActorSystem;
  clock?: Clock;
  publish?: (e: SystemEvent) => void;
}

/** Keeps one degradation level and moves it as the signals say. */
export class DegradationController {
  readonly name: string;
  private state: DegradationState = { level: 'FULL', betterSince: undefined };
  private signals: DegradationSignals = { health: 'healthy' };
  private rules: readonly DegradationRule[];
  private recoverAfterMs: number;
  private readonly own: { rules: readonly DegradationRule[]; recoverAfterMs: number };
  private readonly clock: Clock;
  private readonly publish: (e: SystemEvent) => void;
  private readonly system: ActorSystem | undefined;
  private readonly sub: Subscription | undefined;
  private readonly settingsSub: Subscription | undefined;
  private timer: TimerHandle | undefined;

  constructor(options: DegradationOptions) {
    this.name = options.name ?? 'swarm';
    this.rules = options.rules ?? HEALTH_RULES;
    this.recoverAfterMs = options.recoverAfterMs ?? DEFAULTS.degradation.recoverAfterMs;
    check(this.recoverAfterMs >= 0, 'recoverAfterMs', 'must be ≥ 0');
    this.own = { rules: this.rules, recoverAfterMs: this.recoverAfterMs };
    const clock = options.clock ?? options.system?.clock;
    check(clock !== undefined, 'clock', 'is needed without a system');
    this.clock = clock!;
    this.system = options.system;
    this.publish = options.publish ?? ((e) => options.system?.publish(e));
    if (this.system) {
      this.system.degradation.set(this.name, 'FULL');
      this.signals = { health: this.system.health().status };
      this.sub = this.system.events$.subscribe((e) => {
        if (e.type === 'health' && e.thread === undefined) this.update({ health: e.status });
      });
      const settings = this.system.settings;
      this.follow(settings.degradation(this.name));
      this.settingsSub = settings.changes$.subscribe((c) => {
        if (!c.changed.includes(`degradation.${this.name}`)) return;
        this.follow(settings.degradation(this.name));
        this.evaluate();
      });
    }
  }

  /** Uses the config's settings for this name over the code's (none: the code's again). */
  private follow(s: DegradationSettings | undefined): void {
    this.rules = s?.rules !== undefined ? s.rules.map(ruleFromSettings) : this.own.rules;
    this.recoverAfterMs = s?.recoverAfterMs ?? this.own.recoverAfterMs;
  }

  get level(): DegradationLevel {
    return this.state.level;
  }

  /** Merges `signals` into the current ones and re-evaluates now. */
  update(signals: Partial<DegradationSignals>): DegradationLevel {
    this.signals = { ...this.signals, ...signals } as DegradationSignals;
    return this.evaluate();
  }

  /** Re-evaluates with the current signals (the controller also does so when a window ends). */
  evaluate(): DegradationLevel {
    const previous = this.state.level;
    const demanded = demandedLevel(this.rules, this.signals);
    this.state = degradationStep(this.state, demanded, this.clock.now(), this.recoverAfterMs);
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.state.betterSince !== undefined) {
      const wait = this.state.betterSince + this.recoverAfterMs - this.clock.now();
      this.timer = this.clock.setTimeout(() => this.evaluate(), wait);
    }
    if (this.state.level !== previous) {
      this.system?.degradation.set(this.name, this.state.level);
      this.publish({ type: 'degradation-level', name: this.name, level: this.state.level, previous, at: this.clock.now() });
    }
    return this.state.level;
  }

  /** What an agent declared for the current level (e.g. `{ FULL: 'gpt-large', REDUCED: 'gpt-small', … }`). */
  select<T>(perLevel: Record<DegradationLevel, T>): T {
    return perLevel[this.state.level];
  }

  /** Stops following health and forgets its `/health` entry. */
  close(): void {
    this.sub?.unsubscribe();
    this.settingsSub?.unsubscribe();
    this.clock.clearTimeout(this.timer);
    this.system?.degradation.delete(this.name);
  }
}
