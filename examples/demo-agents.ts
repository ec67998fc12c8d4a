/**
 * The demo swarm's agents: simulated agents doing real (small) work on generated data.
 *
 * Worker-thread agents (ingest, analysis, synthesis, detector) carry `static module` so any
 * thread can load them, take and return plain data, and keep no state worth losing: a
 * restart costs only the message they failed on. The orchestrators (coordinator, source,
 * alerter) run on the main thread, own the state (report numbers, sensor histories, the
 * de-duplication window) and find the others by name, so they follow restarts. Every
 * worker agent fails now and then (`faultRate`) so a newcomer sees the supervisor tree at
 * work. Time, timers and randomness come from the actor's clock.
 */
import { Actor } from '../actors/actor.js';
import type { ActorRef } from '../actors/actor-ref.js';
import { Router } from '../toolkit/router.js';
import { runWorkflow, type TaskInputs } from '../toolkit/workflow.js';
import { fixedRetry } from '../toolkit/retry-policy.js';

/** Constructor argument of the worker agents. */
export interface AgentArgs {
  /** Probability that one message makes the agent throw. */
  faultRate?: number;
}

/** An agent that throws a simulated fault with probability `faultRate` per message. */
abstract class FaultyAgent<M, R> extends Actor<M, R> {
  constructor(protected readonly args: AgentArgs = {}) {
    super();
  }
  protected maybeFail(what: string): void {
    const rate = this.args.faultRate;
    if (rate !== undefined && rate > 0 && this.context.clock.random() < rate) throw new Error(`simulated fault in ${what}`);
  }
}

/** One generated sale. */
export interface SaleRow {
  region: string;
  product: string;
  amount: number;
}

const REGIONS = ['emea', 'apac', 'amer', 'latam'];
const PRODUCTS = ['llm-credits', 'gpu-hours', 'storage', 'support'];

/** Generates a batch of synthetic sales rows. */
export class Ingest extends FaultyAgent<{ type: 'batch'; size: number }, SaleRow[]> {
  static readonly module = import.meta.url;
  receive(msg: { type: 'batch'; size: number }): SaleRow[] {
    this.maybeFail('ingest');
    const r = () => this.context.clock.random();
    return Array.from({ length: msg.size }, () => ({
      region: REGIONS[Math.floor(r() * REGIONS.length)]!,
      product: PRODUCTS[Math.floor(r() * PRODUCTS.length)]!,
      // log-normal-ish amounts with the odd outlier
      amount: Math.round(Math.exp(4 + r() * 2) * (r() < 0.01 ? 20 : 1) * 100) / 100,
    }));
  }
}

/** Statistics of one region in a batch. */
export interface RegionStats {
  region: string;
  count: number;
  total: number;
  mean: number;
  p95: number;
  outliers: number;
}

/** Per-region statistics of a batch: count, total, mean, p95, outliers (> 3σ). */
export class Analysis extends FaultyAgent<{ type: 'analyse'; rows: SaleRow[] }, RegionStats[]> {
  static readonly module = import.meta.url;
  receive(msg: { type: 'analyse'; rows: SaleRow[] }): RegionStats[] {
    this.maybeFail('analysis');
    const byRegion = new Map<string, number[]>();
    for (const row of msg.rows) {
      const list = byRegion.get(row.region) ?? [];
      list.push(row.amount);
      byRegion.set(row.region, list);
    }
    return [...byRegion].map(([region, amounts]) => {
      amounts.sort((a, b) => a - b);
      const total = amounts.reduce((s, a) => s + a, 0);
      const mean = total / amounts.length;
      const sd = Math.sqrt(amounts.reduce((s, a) => s + (a - mean) ** 2, 0) / amounts.length);
      return {
        region,
        count: amounts.length,
        total: Math.round(total),
        mean: Math.round(mean * 10) / 10,
        p95: amounts[Math.min(amounts.length - 1, Math.floor(amounts.length * 0.95))]!,
        outliers: amounts.filter((a) => a > mean + 3 * sd).length,
      };
    });
  }
}

/** The report synthesis produces (plain data, so it crosses threads). */
export interface Report {
  id: number;
  rows: number;
  revenue: number;
  topRegion: string;
  outliers: number;
  regions: RegionStats[];
}

/** Turns statistics into a JSON report. */
export class Synthesis extends FaultyAgent<{ type: 'synthesise'; id: number; rows: number; stats: RegionStats[] }, Report> {
  static readonly module = import.meta.url;
  receive(msg: { type: 'synthesise'; id: number; rows: number; stats: RegionStats[] }): Report {
    this.maybeFail('synthesis');
    const sorted = [...msg.stats].sort((a, b) => b.total - a.total);
    return {
      id: msg.id,
      rows: msg.rows,
      revenue: sorted.reduce((s, r) => s + r.total, 0),
      topRegion: sorted[0]?.region ?? '-',
      outliers: sorted.reduce((s, r) => s + r.outliers, 0),
      regions: sorted,
    };
  }
}

/** Constructor argument of the {@link Coordinator}. */
export interface CoordinatorArgs {
  /** ms between reports. */
  everyMs: number;
  batchSize: number;
  log: (line: string) => void;
}

/** An analysis task that crashed its agent is tried once more (the restarted agent, or the other one). */
const ANALYSIS_RETRY = fixedRetry(300, { maxAttempts: 2 });

/** Registered names of the analysis agents the coordinator's router spreads work over. */
export const ANALYSTS = ['analysis', 'analysis-2'];

/**
 * Drives the report pipeline every `everyMs` (re-armed after each run) as a workflow:
 * ingest → one analysis task per region (in parallel, spread over the analysis agents by a
 * least-loaded router, each tried twice) → synthesis → summary (the API-calling agent; when it fails the
 * report says `summary unavailable`). A run in which a step fails, or is still restarting,
 * is logged as skipped; the next one starts on time.
 */
export class Coordinator extends Actor<{ type: 'tick' }, void> {
  private seq = 0;
  private readonly router: Router<{ type: 'analyse'; rows: SaleRow[] }, RegionStats[]>;
  constructor(private readonly args: CoordinatorArgs) {
    super();
    this.router = new Router({ strategy: 'least-loaded' }, this.context.clock);
  }
  override started(): void {
    this.context.scheduleOnce(this.args.everyMs, { type: 'tick' });
  }
  async receive(msg: { type: 'tick' }): Promise<void> {
    // Only its own timer drives it: any other message (an admin ask, a bench ping) is answered
    // at once and schedules nothing, so it cannot start a second report loop.
    if (msg?.type !== 'tick') return;
    const id = ++this.seq;
    try {
      const ingest = this.lookup<{ type: 'batch'; size: number }, SaleRow[]>('ingest');
      const synthesis = this.lookup<{ type: 'synthesise'; id: number; rows: number; stats: RegionStats[] }, Report>('synthesis');
      this.refreshAnalysts();
      const summariser = this.context.lookup<unknown, string>('summariser');
      const rowsOf = (inputs: TaskInputs) => inputs.ingest as SaleRow[];
      const analyse = REGIONS.map((region) => ({
        id: `analyse-${region}`,
        dependsOn: ['ingest'],
        target: this.router,
        retry: ANALYSIS_RETRY,
        message: (inputs: TaskInputs) => ({ type: 'analyse' as const, rows: rowsOf(inputs).filter((r) => r.region === region) }),
      }));
      const wf = runWorkflow(
        {
          name: `report-${id}`,
          tasks: [
            { id: 'ingest', target: ingest, message: { type: 'batch', size: this.args.batchSize } },
            ...analyse,
            {
              id: 'synthesis',
              dependsOn: ['ingest', ...analyse.map((t) => t.id)],
              target: synthesis,
              message: (inputs: TaskInputs) => ({
                type: 'synthesise',
                id,
                rows: rowsOf(inputs).length,
                stats: analyse.flatMap((t) => inputs[t.id] as RegionStats[]),
              }),
            },
            {
              id: 'summary',
              dependsOn: ['synthesis'],
              target: summariser ?? { ask: () => Promise.reject(new Error('summariser is restarting')) },
              message: (inputs: TaskInputs) => ({ type: 'summarise', report: inputs.synthesis }),
              timeout: 4000,
              fallback: () => 'summary unavailable',
            },
          ],
        },
        { clock: this.context.clock, publish: (e) => this.context.publish(e) },
      );
      const result = await wf.result;
      if (result.status !== 'completed') {
        const failed = Object.values(result.tasks).find((t) => t.state === 'failed' && t.error?.code !== 'ERR_DEPENDENCY_FAILED');
        throw new Error(failed?.error?.message ?? result.status);
      }
      const report = result.tasks.synthesis!.value as Report;
      this.args.log(
        `[reports] report #${report.id}: ${report.rows} rows, revenue ${report.revenue}, top region ${report.topRegion}, ${report.outliers} outliers · ${String(result.tasks.summary!.value)}`,
      );
    } catch (err) {
      // a pipeline step crashed mid-report (its supervisor restarts it): skip this report
      this.args.log(`[reports] report #${id} skipped: ${(err as Error).message}`);
    } finally {
      this.context.scheduleOnce(this.args.everyMs, { type: 'tick' });
    }
  }
  /** The router follows the analysts' current refs (a thread crash gives a restarted agent a new one). */
  private refreshAnalysts(): void {
    const current = ANALYSTS.map((n) => this.context.lookup<{ type: 'analyse'; rows: SaleRow[] }, RegionStats[]>(n)).filter((r) => r !== undefined);
    for (const old of this.router.routees) if (!current.some((r) => r.equals(old))) this.router.remove(old);
    for (const r of current) this.router.add(r);
    if (current.length === 0) throw new Error('analysis is restarting');
  }
  private lookup<M, R>(name: string): ActorRef<M, R> {
    const ref = this.context.lookup<M, R>(name);
    if (ref === undefined) throw new Error(`${name} is restarting`);
    return ref;
  }
}

export interface ScoreRequest {
  type: 'score';
  sensor: string;
  value: number;
  /** The sensor's recent readings, oldest first (the source owns them, so a detector restart loses nothing). */
  history: number[];
}

/** Fewer readings than this in a sensor's history: too early to judge, the score is 0. */
export const WARM_UP_READINGS = 5;

/**
 * Scores one sensor reading: its z-score against the sensor's recent readings (standard
 * deviation floored at 1, so a flat history does not turn noise into alarms). Stateless:
 * a restart costs nothing but the reading it failed on.
 */
export class Detector extends FaultyAgent<ScoreRequest, number> {
  static readonly module = import.meta.url;
  receive(msg: ScoreRequest): number {
    this.maybeFail('detector');
    const h = msg.history;
    if (h.length < WARM_UP_READINGS) return 0;
    const mean = h.reduce((s, v) => s + v, 0) / h.length;
    const sd = Math.max(1, Math.sqrt(h.reduce((s, v) => s + (v - mean) ** 2, 0) / h.length));
    return Math.round(((msg.value - mean) / sd) * 100) / 100;
  }
}

/** |z| ≥ 5 is `critical`, ≥ 4 `warning`, below that `info`. */
export type Severity = 'critical' | 'warning' | 'info';

/** Constructor argument of the {@link Alerter}. */
export interface AlerterArgs {
  /** Same sensor and severity within this window count as one alert. */
  dedupMs: number;
  log: (line: string) => void;
}

/**
 * Raises alerts with a severity, de-duplicated per sensor and severity: a repeat within
 * `dedupMs` of the last raised one is counted, not logged (the next raised alert reports
 * how many were suppressed). Replies with the severity, or `duplicate`.
 */
export class Alerter extends Actor<{ type: 'alert'; sensor: string; z: number }, Severity | 'duplicate'> {
  private readonly lastRaised = new Map<string, { at: number; suppressed: number }>();
  constructor(private readonly args: AlerterArgs) {
    super();
  }
  receive(msg: { type: 'alert'; sensor: string; z: number }): Severity | 'duplicate' {
    const z = Math.abs(msg.z);
    const severity: Severity = z >= 5 ? 'critical' : z >= 4 ? 'warning' : 'info';
    const key = `${msg.sensor}:${severity}`;
    const now = this.context.clock.now();
    const last = this.lastRaised.get(key);
    if (last !== undefined && now - last.at < this.args.dedupMs) {
      last.suppressed++;
      return 'duplicate';
    }
    const suppressed = last?.suppressed ?? 0;
    this.lastRaised.set(key, { at: now, suppressed: 0 });
    this.args.log(`[monitor] ALERT ${severity} ${msg.sensor} z=${msg.z}${suppressed ? ` (${suppressed} duplicates suppressed)` : ''}`);
    return severity;
  }
}

/** Constructor argument of the {@link Source}. */
export interface SourceArgs {
  everyMs: number;
  sensors: number;
  /** |z| from which a reading goes to the alerter. */
  threshold: number;
  /** Readings kept per sensor for scoring. Default 20. */
  historySize?: number;
}

/**
 * Generates a sensor event stream (one reading every `everyMs`: a slow sine baseline with
 * noise and rare spikes), keeps each sensor's recent readings, has each reading scored by
 * the detector and forwards anomalies to the alerter. A reading the detector crashed on
 * is not scored (the detector is being restarted); it still joins the history.
 */
export class Source extends Actor<{ type: 'tick' }, void> {
  private t = 0;
  private readonly history = new Map<string, number[]>();
  constructor(private readonly args: SourceArgs) {
    super();
  }
  override started(): void {
    this.context.scheduleOnce(this.args.everyMs, { type: 'tick' });
  }
  async receive(): Promise<void> {
    this.t++;
    const r = () => this.context.clock.random();
    const sensor = `sensor-${1 + Math.floor(r() * this.args.sensors)}`;
    const value = Math.round((50 + 10 * Math.sin(this.t / 200) + (r() - 0.5) * 4 + (r() < 0.03 ? 40 * (r() + 0.5) : 0)) * 100) / 100;
    const history = this.history.get(sensor) ?? [];
    try {
      const detector = this.context.lookup<ScoreRequest, number>('detector');
      const alerter = this.context.lookup<{ type: 'alert'; sensor: string; z: number }, unknown>('alerter');
      if (detector !== undefined) {
        const z = await detector.ask({ type: 'score', sensor, value, history });
        if (Math.abs(z) >= this.args.threshold) alerter?.tell({ type: 'alert', sensor, z });
      }
    } catch {
      // the detector crashed on this reading; its supervisor is restarting it
    } finally {
      history.push(value);
      if (history.length > (this.args.historySize ?? 20)) history.shift();
      this.history.set(sensor, history);
      this.context.scheduleOnce(this.args.everyMs, { type: 'tick' });
    }
  }
}
