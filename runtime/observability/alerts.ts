/**
 * Alert rules over `system.metrics$`: a threshold that must hold `for` a while, a severity,
 * a cooldown between repeats, and a `resolved` notice when it stops holding — Prometheus'
 * alerting-rule semantics, for people who run a node without Prometheus. The same rules,
 * in PromQL, are in runtime/prometheus-rules.yml.
 *
 * Owns: rule state (inactive → pending → firing → resolved) as a pure step per snapshot,
 * and the log, console and webhook channels (POST with a timeout and retries with backoff).
 * Time: the given clock.
 */
import type { Clock } from '../../actors/foundation/clock.js';
import type { MetricsSnapshot } from './node-stats.js';
import type { Logger } from '../logging/logger.js';

export type Severity = 'critical' | 'warning' | 'info';

export interface AlertRule {
  name: string;
  /** A numeric field of the snapshot (`restarts`, `mailboxDepth`, `healthLevel`, …). */
  metric: keyof MetricsSnapshot;
  /** Compare the per-second rate of a counter between snapshots instead of its value. */
  rate?: boolean;
  op: '>' | '>=' | '<' | '<=';
  threshold: number;
  /** How long the condition must hold before the alert fires, ms. Default 0. */
  forMs?: number;
  severity: Severity;
  /** Least time between two notices of the same firing alert, ms. Default 5 min. */
  cooldownMs?: number;
  summary?: string;
}

export interface AlertNotice {
  rule: string;
  state: 'firing' | 'resolved';
  severity: Severity;
  value: number;
  threshold: number;
  summary: string;
  node: string;
  at: number;
}

export interface AlertChannel {
  send(notice: AlertNotice): Promise<void> | void;
}

type RuleState = { kind: 'inactive' } | { kind: 'pending'; since: number } | { kind: 'firing'; since: number; notifiedAt: number };

export const ALERT_DEFAULTS = { cooldownMs: 5 * 60_000, webhookTimeoutMs: 2000, webhookRetries: 3, webhookBackoffMs: 200 } as const;

/** The rules a node runs by default (runtime/prometheus-rules.yml has the same). */
export const DEFAULT_RULES: AlertRule[] = [
  { name: 'ApiaryNodeCritical', metric: 'healthLevel', op: '>=', threshold: 2, forMs: 10_000, severity: 'critical', summary: 'node health critical or failed' },
  { name: 'ApiaryRestartStorm', metric: 'restarts', rate: true, op: '>', threshold: 1, forMs: 30_000, severity: 'warning', summary: 'more than one restart a second' },
  { name: 'ApiaryEscalations', metric: 'escalations', rate: true, op: '>', threshold: 0, forMs: 0, severity: 'critical', summary: 'a supervisor gave up' },
  { name: 'ApiaryDeadLetters', metric: 'deadLetters', rate: true, op: '>', threshold: 100, forMs: 60_000, severity: 'warning', summary: 'more than 100 dead letters a second' },
  { name: 'ApiaryMailboxBacklog', metric: 'mailboxDepth', op: '>', threshold: 10_000, forMs: 60_000, severity: 'warning', summary: 'more than 10k messages waiting' },
];

function holds(op: AlertRule['op'], value: number, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}

export class AlertEngine {
  private readonly states = new Map<string, RuleState>();
  private previous: MetricsSnapshot | undefined;
  private rules: readonly AlertRule[];
  private channels: readonly AlertChannel[];

  constructor(
    rules: readonly AlertRule[],
    channels: readonly AlertChannel[],
    private readonly clock: Clock,
  ) {
    this.rules = rules;
    this.channels = channels;
  }

  /**
   * Uses `rules` and `channels` from the next snapshot on (a config reload). A rule kept by
   * name keeps its state — pending keeps counting its `for`, firing stays firing (no repeat
   * notice before its cooldown); a removed rule is forgotten without a `resolved` notice.
   */
  replace(rules: readonly AlertRule[], channels: readonly AlertChannel[]): void {
    const names = new Set(rules.map((r) => r.name));
    for (const name of this.states.keys()) if (!names.has(name)) this.states.delete(name);
    this.rules = rules;
    this.channels = channels;
  }

  /** Steps every rule with a new snapshot; returns the notices sent. */
  evaluate(snapshot: MetricsSnapshot): AlertNotice[] {
    const now = this.clock.now();
    const notices: AlertNotice[] = [];
    for (const rule of this.rules) {
      const value = this.valueOf(rule, snapshot);
      if (value === undefined) continue;
      const state = this.states.get(rule.name) ?? { kind: 'inactive' };
      const notice = (s: 'firing' | 'resolved'): AlertNotice => ({
        rule: rule.name,
        state: s,
        severity: rule.severity,
        value,
        threshold: rule.threshold,
        summary: rule.summary ?? `${String(rule.metric)} ${rule.op} ${rule.threshold}`,
        node: snapshot.node,
        at: snapshot.at,
      });
      if (holds(rule.op, value, rule.threshold)) {
        const since = state.kind === 'inactive' ? now : state.since;
        if (state.kind === 'firing') {
          if (now - state.notifiedAt >= (rule.cooldownMs ?? ALERT_DEFAULTS.cooldownMs)) {
            notices.push(notice('firing'));
            this.states.set(rule.name, { kind: 'firing', since, notifiedAt: now });
          }
        } else if (now - since >= (rule.forMs ?? 0)) {
          notices.push(notice('firing'));
          this.states.set(rule.name, { kind: 'firing', since, notifiedAt: now });
        } else {
          this.states.set(rule.name, { kind: 'pending', since });
        }
      } else {
        if (state.kind === 'firing') notices.push(notice('resolved'));
        this.states.set(rule.name, { kind: 'inactive' });
      }
    }
    this.previous = snapshot;
    for (const n of notices) for (const c of this.channels) void Promise.resolve(c.send(n)).catch(() => {});
    return notices;
  }

  private valueOf(rule: AlertRule, snapshot: MetricsSnapshot): number | undefined {
    const current = snapshot[rule.metric];
    if (typeof current !== 'number') return undefined;
    if (!rule.rate) return current;
    const prev = this.previous?.[rule.metric];
    if (typeof prev !== 'number' || this.previous === undefined) return undefined;
    const seconds = (snapshot.at - this.previous.at) / 1000;
    return seconds > 0 ? (current - prev) / seconds : undefined;
  }
}

/**
 * Logs each notice on `log` (what `apiary start` uses): a firing critical alert is an error
 * line, a firing warning a warn line, the rest (info, resolved) info lines; fields `rule`,
 * `state`, `severity`, `value`, `threshold`.
 */
export function logChannel(log: Logger): AlertChannel {
  const alerts = log.child({ component: 'alerts' });
  return {
    send(n) {
      const fields = { event: `alert-${n.state}`, rule: n.rule, state: n.state, severity: n.severity, value: n.value, threshold: n.threshold };
      const msg = `${n.state === 'firing' ? 'FIRING' : 'resolved'} ${n.severity} ${n.rule}: ${n.summary} (value ${n.value}, threshold ${n.threshold})`;
      if (n.state === 'resolved' || n.severity === 'info') alerts.info(msg, fields);
      else if (n.severity === 'critical') alerts.error(msg, fields);
      else alerts.warn(msg, fields);
    },
  };
}

/** Writes one line per notice. */
export function consoleChannel(log: (line: string) => void = (l) => console.log(l)): AlertChannel {
  return {
    send(n) {
      log(`[alert] ${n.state === 'firing' ? 'FIRING' : 'resolved'} ${n.severity} ${n.rule} on ${n.node}: ${n.summary} (value ${n.value}, threshold ${n.threshold})`);
    },
  };
}

/**
 * POSTs each notice as JSON to `url`; a failed or slow attempt (over `timeoutMs`) is retried
 * up to `retries` times with doubling backoff; after that the notice is dropped and
 * `onGiveUp` is told.
 */
export function webhookChannel(
  url: string,
  clock: Clock,
  options: { timeoutMs?: number; retries?: number; backoffMs?: number; onGiveUp?: (n: AlertNotice, err: unknown) => void } = {},
): AlertChannel {
  const timeoutMs = options.timeoutMs ?? ALERT_DEFAULTS.webhookTimeoutMs;
  const retries = options.retries ?? ALERT_DEFAULTS.webhookRetries;
  const backoffMs = options.backoffMs ?? ALERT_DEFAULTS.webhookBackoffMs;
  const attempt = async (n: AlertNotice): Promise<void> => {
    const abort = new AbortController();
    const timer = clock.setTimeout(() => abort.abort(), timeoutMs);
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(n), signal: abort.signal });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`webhook answered ${res.status}`);
    } finally {
      clock.clearTimeout(timer);
    }
  };
  return {
    async send(n) {
      for (let i = 0; ; i++) {
        try {
          return await attempt(n);
        } catch (err) {
          if (i >= retries) {
            options.onGiveUp?.(n, err);
            return;
          }
          await new Promise<void>((resolve) => clock.setTimeout(resolve, backoffMs * 2 ** i));
        }
      }
    },
  };
}
