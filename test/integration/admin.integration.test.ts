/**
 * A node as operators see it: started as a child process on a free port, inspected and
 * poked over the HTTP admin API and with `apiary tree | kill | status`.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TreeEntry, TreeSnapshot } from '../../dist/index.js';
import { startNode, type NodeProcess } from './processes.js';

const cli = fileURLToPath(new URL('../../dist/runtime/cli/main.js', import.meta.url));
let node: NodeProcess;
let base: string;
let http: string;

beforeAll(async () => {
  node = startNode([cli, 'start', '--threads', '2', '--http', '127.0.0.1:0']);
  await node.waitFor(/ready .* http: 127\.0\.0\.1:\d+/, 20_000);
  http = /http: (127\.0\.0\.1:\d+)/.exec(node.stdout())![1]!;
  base = `http://${http}`;
});

afterAll(async () => {
  node.child.kill('SIGTERM');
  await node.exit(10_000);
  node.dispose();
});

function apiary(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout: 10_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function find(entries: TreeEntry[], path: string): TreeEntry | undefined {
  for (const e of entries) {
    if (e.path === path) return e;
    const inner = find(e.children ?? [], path);
    if (inner) return inner;
  }
  return undefined;
}

async function tree(): Promise<TreeSnapshot> {
  return (await (await fetch(`${base}/tree`)).json()) as TreeSnapshot;
}

describe('HTTP admin server', () => {
  it('GET /tree has the documented shape for every entry', async () => {
    const t = await tree();
    expect(t.node).toBe('demo');
    const check = (e: TreeEntry): void => {
      expect(e).toEqual({
        id: expect.any(String),
        path: expect.stringMatching(/^\//),
        kind: expect.stringMatching(/^(supervisor|worker)$/),
        status: expect.stringMatching(/^(running|restarting|stopped)$/),
        restarts: expect.any(Number),
        thread: expect.any(Number),
        node: 'demo',
        mailbox: expect.any(Number),
        incarnation: expect.any(Number),
        uptimeMs: expect.any(Number),
        ...(e.children ? { children: expect.any(Array) } : {}),
      });
      e.children?.forEach(check);
    };
    t.children.forEach(check);
    expect(find(t.children, '/demo/reports/ingest')?.thread).toBeGreaterThan(0); // on a worker thread
  });

  it('POST /actors/{path}/kill on a worker → within 1 s /tree shows it running with restarts + 1; /metrics counts it', async () => {
    const before = find((await tree()).children, '/demo/monitoring/detector')!;
    const restartsMetric = async () => Number(/^apiary_restarts_total (\d+)/m.exec(await (await fetch(`${base}/metrics`)).text())![1]);
    const metricBefore = await restartsMetric();
    const res = await fetch(`${base}/actors/demo/monitoring/detector/kill`, { method: 'POST' });
    expect(res.status).toBe(200);
    const deadline = performance.now() + 1000;
    let after = before;
    while (performance.now() < deadline) {
      after = find((await tree()).children, '/demo/monitoring/detector')!;
      if (after.restarts === before.restarts + 1 && after.status === 'running') break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(after).toMatchObject({ status: 'running', restarts: before.restarts + 1 });
    expect(await restartsMetric()).toBeGreaterThan(metricBefore);
  });

  it('answers 404 with a JSON error for an unknown actor or route, 400 for a malformed path, 405 for a wrong method, and never a stack trace', async () => {
    const unknown = await fetch(`${base}/actors/demo/nobody/kill`, { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { code: 'ERR_NOT_FOUND', message: expect.stringContaining('/demo/nobody') } });
    const route = await fetch(`${base}/nope`);
    expect(route.status).toBe(404);
    const malformed = await fetch(`${base}/actors/demo/%E0%A4%A/kill`, { method: 'POST' });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({ error: { code: 'ERR_BAD_REQUEST', message: expect.any(String) } });
    const method = await fetch(`${base}/tree`, { method: 'DELETE' });
    expect(method.status).toBe(405);
    expect(await method.text()).not.toMatch(/\n\s+at /);
  });

  it('GET /metrics is Prometheus text with the documented names', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    for (const line of text.trim().split('\n')) {
      if (line === '') continue; // blank lines separate metric families
      expect(line).toMatch(/^(# (HELP|TYPE) (apiary|process|nodejs)_\w+ .+|(apiary|process|nodejs)_\w+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?\d+(\.\d+)?(e[+-]?\d+)?)$/);
    }
    for (const name of ['apiary_restarts_total', 'apiary_escalations_total', 'apiary_actors', 'apiary_mailbox_depth', 'apiary_messages_processed_total', 'apiary_thread_restarts_total', 'apiary_processing_duration_seconds', 'apiary_ask_duration_seconds', 'apiary_health_state', 'apiary_event_loop_lag_seconds']) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    // the demo's node keeps one spare worker (started once the threads are up)
    expect(text).toContain('# TYPE apiary_spare_threads gauge');
    const spares = async () => Number(/^apiary_spare_threads\{state="loaded"\} (\d+)/m.exec(await (await fetch(`${base}/metrics`)).text())![1]);
    for (let i = 0; i < 100 && (await spares()) !== 1; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await spares()).toBe(1);
    const processed = () => fetch(`${base}/metrics`).then(async (r) => Number(/^apiary_messages_processed_total (\d+)/m.exec(await r.text())![1]));
    const first = await processed();
    await new Promise((r) => setTimeout(r, 1500)); // the demo keeps working; workers report each second
    expect(await processed()).toBeGreaterThan(first);
  });

  it('GET /health and /members describe the node', async () => {
    const health = await (await fetch(`${base}/health`)).json();
    expect(health).toMatchObject({ status: 'healthy', node: 'demo', threads: [{ thread: 0 }, { thread: 1 }, { thread: 2 }], members: [{ node: 'demo', state: 'up' }] });
    expect(await (await fetch(`${base}/members`)).json()).toMatchObject({ members: [{ node: 'demo', state: 'up' }] });
  });
});

describe('apiary tree | kill | status', () => {
  it('apiary tree --json prints exactly /tree', async () => {
    // uptimes grow between the two reads: compare everything else exactly
    const still = (t: TreeSnapshot): TreeSnapshot => JSON.parse(JSON.stringify(t, (k, v: unknown) => (k === 'uptimeMs' ? 0 : v))) as TreeSnapshot;
    for (let attempt = 0; ; attempt++) {
      const [cliOut, fromHttp] = await Promise.all([apiary(['tree', '--json', '--http', http]), tree()]);
      expect(cliOut.code).toBe(0);
      const fromCli = still(JSON.parse(cliOut.stdout) as TreeSnapshot);
      const http1 = still(fromHttp);
      if (JSON.stringify(fromCli) === JSON.stringify(http1) || attempt === 4) {
        expect(fromCli).toEqual(http1); // (retried only because the live tree may change between the two reads)
        break;
      }
    }
  });

  it('apiary tree prints the indented tree; apiary kill restarts an actor; apiary status summarises', async () => {
    const t = await apiary(['tree', '--http', http]);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^node demo\n└─ demo \[supervisor\] running/);
    expect(t.stdout).toMatch(/\n   │  ├─ ingest \[worker\] running restarts=\d+ thread=[12] mailbox=\d+ up=\d+s\n/);
    const k = await apiary(['kill', '/demo/reports/synthesis', '--http', http]);
    expect(k).toMatchObject({ code: 0, stdout: 'killed /demo/reports/synthesis\n' });
    const s = await apiary(['status', '--http', http]);
    expect(s.stdout).toMatch(/^node demo · \w+ · up \d+ s\nthreads: 0=\w+ \(lag [\d.]+ ms\) 1=\w+ \(lag [\d.]+ ms\) 2=\w+ \(lag [\d.]+ ms\)\nmembers: demo \(up\)\n$/);
  });

  it('apiary tree --watch redraws every second until interrupted', async () => {
    const watcher = startNode([cli, 'tree', '--watch', '--http', http]);
    try {
      await new Promise((r) => setTimeout(r, 2500));
      const draws = watcher.stdout().split('node demo\n').length - 1;
      expect(draws).toBeGreaterThanOrEqual(2);
      expect(draws).toBeLessThanOrEqual(4);
      watcher.child.kill('SIGINT');
      expect(await watcher.exit(5000)).not.toBe('timeout');
    } finally {
      watcher.dispose();
    }
  });

  it.each([
    [['tree'], 'tree'],
    [['status'], 'status'],
    [['kill', '/demo'], 'kill'],
  ])('apiary %j with no node answering → exit 1 and a one-line error', async (args) => {
    const r = await apiary([...args, '--http', '127.0.0.1:9']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^apiary: no node answers at http:\/\/127\.0\.0\.1:9 .*\n$/);
  });
});
