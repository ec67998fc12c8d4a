/**
 * The demo swarm's agents: simulated agents doing real (small) work on generated data.
 *
 * Worker-thread agents (ingest, analysis, synthesis, detector) carry `static module` so any
 * thread can load them; the orchestrators (coordinator, source, alerter) run on the main
 * thread and find the others by name, so they follow restarts. Every worker agent fails
 * now and then (`faultRate`) so a newcomer sees the supervisor tree at work.
 * Time and randomness come from the actor's clock.
 */
import { Actor } from '../actors/actor.js';
import type { ActorRef } from '../actors/actor-ref.js';

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

export interface CoordinatorArgs {
  /** ms between reports. */
  everyMs: number;
  batchSize: number;
  log: (line: string) => void;
}

/** Drives the report pipeline: ingest → analysis → synthesis, every `everyMs`. */
export class Coordinator extends Actor<{ type: 'tick' }, void> {
  private seq = 0;
  constructor(private readonly args: CoordinatorArgs) {
    super();
  }
  override started(): void {
    this.context.scheduleOnce(this.args.everyMs, { type: 'tick' });
  }
  async receive(): Promise<void> {
    const id = ++this.seq;
    try {
      const ingest = this.lookup<{ type: 'batch'; size: number }, SaleRow[]>('ingest');
      const analysis = this.lookup<{ type: 'analyse'; rows: SaleRow[] }, RegionStats[]>('analysis');
      const synthesis = this.lookup<{ type: 'synthesise'; id: number; rows: number; stats: RegionStats[] }, Report>('synthesis');
      const rows = await ingest.ask({ type: 'batch', size: this.args.batchSize });
      const stats = await analysis.ask({ type: 'analyse', rows });
      const report = await synthesis.ask({ type: 'synthesise', id, rows: rows.length, stats });
      this.args.log(
        `[reports] report #${report.id}: ${report.rows} rows, revenue ${report.revenue}, top region ${report.topRegion}, ${report.outliers} outliers`,
      );
    } catch (err) {
      // a pipeline step crashed mid-report (its supervisor restarts it): skip this report
      this.args.log(`[reports] report #${id} skipped: ${(err as Error).message}`);
    } finally {
      this.context.scheduleOnce(this.args.everyMs, { type: 'tick' });
    }
  }
  private lookup<M, R>(name: string): ActorRef<M, R> {
    const ref = this.context.lookup<M, R>(name);
    if (ref === undefined) throw new Error(`${name} is restarting`);
    return ref;
  }
}

/** Scores sensor readings: z-score against a rolling window per sensor. */
export class Detector extends FaultyAgent<{ type: 'score'; sensor: string; value: number }, number> {
  static readonly module = import.meta.url;
  private readonly windows = new Map<string, number[]>();
  receive(msg: { type: 'score'; sensor: string; value: number }): number {
    this.maybeFail('detector');
    const w = this.windows.get(msg.sensor) ?? [];
    const mean = w.length ? w.reduce((s, v) => s + v, 0) / w.length : msg.value;
    const sd = w.length > 1 ? Math.sqrt(w.reduce((s, v) => s + (v - mean) ** 2, 0) / w.length) : 1;
    w.push(msg.value);
    if (w.length > 50) w.shift();
    this.windows.set(msg.sensor, w);
    return Math.round(((msg.value - mean) / Math.max(sd, 1e-6)) * 100) / 100;
  }
}

export type Severity = 'critical' | 'warning' | 'info';

export interface AlerterArgs {
  /** Same sensor and severity within this window count as one alert. */
  dedupMs: number;
  log: (line: string) => void;
}

/** Raises alerts with a severity, de-duplicated per sensor and severity. */
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

export interface SourceArgs {
  everyMs: number;
  sensors: number;
  /** |z| from which a reading goes to the alerter. */
  threshold: number;
}

/** Generates a sensor event stream, has each reading scored, forwards anomalies to the alerter. */
export class Source extends Actor<{ type: 'tick' }, void> {
  private t = 0;
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
    // a sine baseline with noise and rare spikes
    const value = 50 + 10 * Math.sin(this.t / 20) + (r() - 0.5) * 4 + (r() < 0.03 ? 40 * (r() + 0.5) : 0);
    try {
      const detector = this.context.lookup<{ type: 'score'; sensor: string; value: number }, number>('detector');
      const alerter = this.context.lookup<{ type: 'alert'; sensor: string; z: number }, unknown>('alerter');
      if (detector !== undefined) {
        const z = await detector.ask({ type: 'score', sensor, value });
        if (Math.abs(z) >= this.args.threshold) alerter?.tell({ type: 'alert', sensor, z });
      }
    } catch {
      // the detector crashed on this reading; it is being restarted
    } finally {
      this.context.scheduleOnce(this.args.everyMs, { type: 'tick' });
    }
  }
}
