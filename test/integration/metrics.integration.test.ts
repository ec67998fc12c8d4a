/**
 * /metrics per the Prometheus conventions, on real nodes (child processes and in-process
 * systems on 127.0.0.1): counters end `_total`, base units, HELP and TYPE for every family,
 * the default process and Node.js metrics, `promtool check metrics` where promtool is
 * installed; a breaker's series from its creation; a 60 s ask in a finite bucket; cluster
 * members and link traffic on a 2-node cluster; an app's own prom-client registry serving
 * or merging apiary's metrics.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Actor, ActorSystem, createMetrics, Guard, ManualClock, startAdminServer, type AdminServer } from '../../dist/index.js';
import { startNode, type NodeProcess } from './processes.js';

const cli = fileURLToPath(new URL('../../dist/runtime/cli/main.js', import.meta.url));
const rulesFile = fileURLToPath(new URL('../../runtime/observability/prometheus-rules.yml', import.meta.url));
const env = { ...process.env, APIARY_SECRET: 'metrics-test-secret-0123456789' };

/** Answers every message with itself. */
class Echo extends Actor {
  receive(msg: unknown): unknown {
    return msg;
  }
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function node(args: string[]): NodeProcess {
  const n = startNode([cli, 'start', '--threads', '1', '--http', '127.0.0.1:0', ...args], env);
  cleanups.push(() => n.dispose());
  return n;
}

async function ready(n: NodeProcess): Promise<{ http: string; ws: string }> {
  await n.waitFor(/ready/, 30_000);
  return { http: /http: (127\.0\.0\.1:\d+)/.exec(n.stdout())![1]!, ws: /ws: (127\.0\.0\.1:\d+)/.exec(n.stdout())?.[1] ?? '' };
}

const scrape = async (http: string) => (await fetch(`http://${http}/metrics`)).text();

/** Metric families of an exposition: name → type, help, sample lines. */
function families(text: string): Map<string, { type?: string; help?: string; samples: string[] }> {
  const out = new Map<string, { type?: string; help?: string; samples: string[] }>();
  const get = (name: string) => out.get(name) ?? (out.set(name, { samples: [] }), out.get(name)!);
  for (const line of text.split('\n')) {
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) get(meta[2]!)[meta[1] === 'HELP' ? 'help' : 'type'] = meta[3]!;
    else if (line.trim() !== '') {
      const name = /^([a-zA-Z_:][\w:]*)/.exec(line)![1]!;
      const base = [...out.keys()].find((f) => name === f || (out.get(f)!.type === 'histogram' && /^(.*)_(bucket|sum|count)$/.exec(name)?.[1] === f));
      expect(base, `sample ${line} belongs to a family with HELP and TYPE`).toBeDefined();
      out.get(base!)!.samples.push(line);
    }
  }
  return out;
}

/** `promtool check metrics` on `text`, or undefined where promtool is not installed. */
function promtool(text: string): { status: number | null; output: string } | undefined {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const sample = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('GET /metrics of a running node', () => {
  it('follows the Prometheus conventions (and passes promtool check metrics where promtool is installed)', async () => {
    const { http } = await ready(node([]));
    await new Promise((r) => setTimeout(r, 1200)); // a worker report and a heartbeat in
    const text = await scrape(http);
    const fams = families(text);
    for (const [name, f] of fams) {
      expect(f.help, `${name} has HELP`).toBeTruthy();
      expect(f.type, `${name} has TYPE`).toMatch(/^(counter|gauge|histogram|summary)$/);
      if (f.type === 'counter') expect(name, 'a counter ends _total').toMatch(/_total$/);
      else expect(name, 'only counters end _total').not.toMatch(/_total$/);
      expect(name, 'base units, not ms').not.toMatch(/_(ms|milliseconds|us|microseconds)(_|$)/);
    }
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_gc_duration_seconds']) {
      expect(fams.has(name), `default metric ${name}`).toBe(true);
    }
    expect(fams.get('apiary_messages_processed_total')?.type).toBe('counter');
    expect(sample(text, 'apiary_messages_processed_total')).toBeGreaterThan(0);
    expect(fams.get('apiary_event_loop_lag_seconds')?.type).toBe('gauge');
    expect(fams.get('apiary_messages_processed')?.help).toMatch(/^DEPRECATED/);
    expect(fams.has('apiary_event_loop_lag_ms')).toBe(false);
    const checked = promtool(text);
    if (checked !== undefined) expect(checked, 'promtool check metrics').toEqual({ status: 0, output: '' });
  });

  it('is what the shipped Prometheus rules query (and they pass promtool check rules where installed)', async () => {
    const { http } = await ready(node([]));
    const fams = families(await scrape(http));
    const rules = readFileSync(rulesFile, 'utf8');
    const queried = [...rules.matchAll(/^\s+expr: (.*)$/gm)].flatMap((m) => [...m[1]!.matchAll(/\b(apiary_\w+)/g)].map((n) => n[1]!));
    expect(queried.length).toBeGreaterThanOrEqual(5);
    for (const name of queried) expect(fams.has(name), `${name} in /metrics`).toBe(true);
    const r = spawnSync('promtool', ['check', 'rules', rulesFile], { encoding: 'utf8' });
    if ((r.error as NodeJS.ErrnoException | undefined)?.code !== 'ENOENT') expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it('counts cluster members by state and link frames and bytes both ways on a 2-node cluster', async () => {
    const a = await ready(node(['--name', 'a', '--listen', '127.0.0.1:0']));
    await ready(node(['--name', 'b', '--listen', '127.0.0.1:0', '--seeds', `ws://${a.ws}`]));
    let text = '';
    for (let i = 0; i < 100; i++) {
      text = await scrape(a.http);
      if (sample(text, 'apiary_cluster_members{state="up"}') === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(sample(text, 'apiary_cluster_members{state="up"}')).toBe(2);
    for (const state of ['joining', 'unreachable', 'down']) expect(sample(text, `apiary_cluster_members{state="${state}"}`)).toBe(0);
    // heartbeats and gossip flow both ways from the first moment
    for (const dir of ['in', 'out']) {
      expect(sample(text, `apiary_link_frames_total{direction="${dir}"}`)).toBeGreaterThan(0);
      expect(sample(text, `apiary_link_bytes_total{direction="${dir}"}`)).toBeGreaterThan(0);
    }
    const framesIn = sample(text, 'apiary_link_frames_total{direction="in"}')!;
    await new Promise((r) => setTimeout(r, 600));
    expect(sample(await scrape(a.http), 'apiary_link_frames_total{direction="in"}')).toBeGreaterThan(framesIn);
  });
});

describe('metrics in process', () => {
  async function system(options: ConstructorParameters<typeof ActorSystem>[0] = {}): Promise<ActorSystem> {
    const s = await ActorSystem.start({ name: 'm', ...options });
    cleanups.push(async () => {
      let stopped = false;
      const stopping = s.stop().then(() => (stopped = true));
      // on a manual clock, stop's deadlines pass only when the test moves the clock
      for (let i = 0; i < 100 && !stopped && options.clock instanceof ManualClock; i++) {
        await new Promise((r) => setTimeout(r, 1));
        if (!stopped) options.clock.advance(60_000);
      }
      await stopping;
    });
    return s;
  }

  it("shows a new breaker's state series before any call goes through it", async () => {
    const s = await system();
    const admin = await startAdminServer(s, { port: 0 });
    cleanups.push(() => admin.close());
    const target = await s.spawn(Echo);
    await s.spawn(Guard, { args: { target, breaker: { name: 'llm', failureThreshold: 3 } } });
    let text = '';
    for (let i = 0; i < 50 && !text.includes('apiary_breaker_state{name="llm"}'); i++) {
      text = await scrape(admin.address);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(sample(text, 'apiary_breaker_state{name="llm"}')).toBe(0);
    expect(text).not.toMatch(/^apiary_breaker_transitions_total\{/m); // its creation is not a transition
  });

  it('puts a 60 s ask in a finite bucket (buckets reach 300 s and beyond)', async () => {
    class Slow extends Actor {
      receive(): Promise<string> {
        return new Promise((resolve) => this.context.clock.setTimeout(() => resolve('done'), 60_000));
      }
    }
    const clock = new ManualClock();
    const s = await system({ clock });
    const metrics = createMetrics(s);
    cleanups.push(() => metrics.close());
    const slow = await s.spawn(Slow);
    const answer = slow.ask('work', { timeout: 120_000 });
    await new Promise((r) => setTimeout(r, 10));
    clock.advance(60_000);
    expect(await answer).toBe('done');
    const text = await metrics.render();
    expect(sample(text, 'apiary_ask_duration_seconds_bucket{le="30"}')).toBe(0);
    expect(sample(text, 'apiary_ask_duration_seconds_bucket{le="60"}')).toBe(1);
    expect(sample(text, 'apiary_ask_duration_seconds_bucket{le="300"}')).toBe(1);
    expect(sample(text, 'apiary_ask_duration_seconds_count')).toBe(1);
    expect(sample(text, 'apiary_ask_duration_seconds_sum')).toBe(60);
  });

  it("merges into an app's own prom-client registry with Registry.merge", async () => {
    const s = await system();
    const app = new Registry();
    new Counter({ name: 'app_requests_total', help: 'Requests the app served', registers: [app] }).inc(3);
    const metrics = createMetrics(s);
    cleanups.push(() => metrics.close());
    await s.spawn(Echo);
    const merged = Registry.merge([app, metrics.registry]);
    const text = await merged.metrics();
    expect(sample(text, 'app_requests_total')).toBe(3);
    expect(sample(text, 'apiary_actors{status="running"}')).toBe(1);
    expect(text).toContain('# TYPE apiary_ask_duration_seconds histogram');
    expect(text).toContain('# TYPE process_cpu_seconds_total counter');
    const json = await merged.getMetricsAsJSON();
    expect(json.find((m) => m.name === 'apiary_processing_duration_seconds')?.values.length).toBeGreaterThan(20);
  });

  it("serves an app's registry at /metrics with apiary's metrics in it, and takes them out on close", async () => {
    const s = await system();
    const app = new Registry();
    new Counter({ name: 'app_requests_total', help: 'Requests the app served', registers: [app] }).inc(2);
    const admin: AdminServer = await startAdminServer(s, { port: 0, registry: app });
    const text = await scrape(admin.address);
    expect(sample(text, 'app_requests_total')).toBe(2);
    expect(sample(text, 'apiary_actors{status="running"}')).toBe(0);
    expect(text).not.toContain('process_cpu_seconds_total'); // the app's registry: its own choice of defaults
    await admin.close();
    expect(app.getSingleMetric('apiary_actors')).toBeUndefined();
    expect(app.getSingleMetric('app_requests_total')).toBeDefined();
  });
});
