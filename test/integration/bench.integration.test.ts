/**
 * `npm run bench` / `apiary bench` output contract (DESIGN §4): tests that the JSON rows use
 * only the listed scenario, system, metric and unit names, with finite positive values, and
 * that the rows are written to `--out` (default: the working directory). No timing
 * assertions: performance claims come from bench/ runs, not from tests.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNode } from './processes.js';
import type { BenchRow } from '../../bench/stats.js';

const outDir = mkdtempSync(join(tmpdir(), 'apiary-bench-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

const SCENARIOS = [
  'in-thread-ping-pong',
  'in-thread-throughput',
  'cross-thread-ping-pong',
  'cross-thread-throughput',
  'cross-node-ask',
  'cross-node-throughput',
  'spawn',
  'restart',
  'ask-under-load',
  'codec',
  'backpressure',
];
const SYSTEMS = ['apiary', 'nact', 'comedy', 'raw'];
const UNITS: Record<string, string> = { p50: 'us', p99: 'us', p999: 'us', throughput: 'msg/s', rate: 'actors/s', 'heap-per-actor': 'bytes', 'rss-growth': 'bytes' };

type Row = BenchRow;

function expectContract(rows: Row[]): void {
  expect(rows.length).toBeGreaterThan(0);
  for (const row of rows) {
    expect(SCENARIOS).toContain(row.scenario);
    expect(SYSTEMS).toContain(row.system);
    expect(Object.keys(UNITS)).toContain(row.metric);
    expect(row.unit).toBe(UNITS[row.metric]);
    // a growth may be nothing at all; everything else is a positive figure
    expect(Number.isFinite(row.value) && (row.value > 0 || (row.metric === 'rss-growth' && row.value === 0))).toBe(true);
    expect(Object.keys(row).every((k) => ['scenario', 'system', 'metric', 'value', 'unit', 'variant'].includes(k))).toBe(true);
  }
}

describe('bench output', () => {
  it('runBench --quick --json returns rows with the §4 names for the codec and in-thread ping-pong scenarios', async () => {
    const { runBench } = await import('../../dist/bench/run.js');
    const write = process.stdout.write;
    let out = '';
    process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
    let rows: Row[];
    const file = join(outDir, 'in-process.json');
    try {
      rows = await runBench(['codec', 'in-thread-ping-pong', '--quick', '--json', '--out', file]);
    } finally {
      process.stdout.write = write;
    }
    expectContract(rows);
    expect(JSON.parse(out)).toEqual(rows);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(rows);
    expect(new Set(rows.map((r) => `${r.scenario}/${r.system}`))).toEqual(
      new Set(['codec/raw', 'codec/apiary', ...SYSTEMS.map((s) => `in-thread-ping-pong/${s}`)]),
    );
  });

  it('apiary bench codec --quick --json prints the same rows from the CLI, and the table without --json', async () => {
    const cli = fileURLToPath(new URL('../../dist/runtime/cli/main.js', import.meta.url));
    const jsonFile = join(outDir, 'cli-json.json');
    const json = startNode([cli, 'bench', 'codec', '--quick', '--json', '--out', jsonFile]);
    const table = startNode([cli, 'bench', 'codec', '--quick', '--out', join(outDir, 'cli-table.json')]);
    try {
      expect(await json.exit(20_000)).toBe(0);
      const rows = JSON.parse(json.stdout()) as Row[];
      expectContract(rows);
      expect(JSON.parse(readFileSync(jsonFile, 'utf8'))).toEqual(rows);
      expect(await table.exit(20_000)).toBe(0);
      expect(existsSync(join(outDir, 'cli-table.json'))).toBe(true);
      expect(table.stdout()).toMatch(/^scenario\s+system\s+p50 µs\s+p99 µs\s+throughput\s+vs baseline\s+vs best peer/);
    } finally {
      json.dispose();
      table.dispose();
    }
  });

  it('bench --http measures ask round trips without touching the actor, and kill → restart only with --kill', async () => {
    const cli = fileURLToPath(new URL('../../dist/runtime/cli/main.js', import.meta.url));
    const node = startNode([cli, 'start', '--threads', '1', '--http', '127.0.0.1:0'], { ...process.env, APIARY_DEMO_FAULT_RATE: '0' });
    try {
      await node.waitFor(/ready/, 20_000);
      const http = /http: (127\.0\.0\.1:\d+)/.exec(node.stdout())![1]!;
      const path = '/demo/monitoring/alerter';
      const restarts = async (): Promise<number> => {
        const tree = (await (await fetch(`http://${http}/tree`)).json()) as { children: { path: string; restarts: number; children?: unknown[] }[] };
        const walk = (es: { path: string; restarts: number; children?: unknown[] }[]): number | undefined => {
          for (const e of es) {
            if (e.path === path) return e.restarts;
            const inner = walk((e.children ?? []) as typeof es);
            if (inner !== undefined) return inner;
          }
          return undefined;
        };
        return walk(tree.children)!;
      };
      const message = '{"type":"alert","sensor":"bench","z":0.1}';
      const args = ['bench', '--http', http, '--path', path, '--message', message, '--quick', '--json'];
      const before = await restarts();
      const readOnly = startNode([cli, ...args, '--out', join(outDir, 'http.json')]);
      expect(await readOnly.exit(30_000), readOnly.stderr()).toBe(0);
      const rows = JSON.parse(readOnly.stdout()) as Row[];
      expect(new Set(rows.map((r) => `${r.scenario}/${r.system}/${r.metric}/${r.unit}`))).toEqual(
        new Set(['raw', 'apiary'].flatMap((s) => ['p50', 'p99', 'p999'].map((m) => `http-ask/${s}/${m}/us`))),
      );
      expect(await restarts()).toBe(before);
      const killing = startNode([cli, ...args, '--kill', '--out', join(outDir, 'http-kill.json')]);
      expect(await killing.exit(60_000), killing.stderr()).toBe(0);
      const killRows = JSON.parse(killing.stdout()) as Row[];
      expect(killRows.filter((r) => r.scenario === 'http-kill-restart').map((r) => `${r.system}/${r.metric}`)).toEqual(['apiary/p50', 'apiary/p99', 'apiary/p999']);
      expect(killRows.every((r) => !r.scenario.startsWith('cross-node'))).toBe(true);
      expect(await restarts()).toBe(before + 3); // --quick kills it 3 times
      node.child.kill('SIGTERM');
      expect(await node.exit(15_000)).toBe(0);
    } finally {
      node.dispose();
    }
  });

  it('apiary bench backpressure --quick --json runs in seconds: rss-growth and throughput for apiary and raw, cross-thread and cross-node', async () => {
    const cli = fileURLToPath(new URL('../../dist/runtime/cli/main.js', import.meta.url));
    const run = startNode([cli, 'bench', 'backpressure', '--quick', '--json', '--out', join(outDir, 'backpressure.json')]);
    try {
      expect(await run.exit(25_000), run.stderr()).toBe(0);
      const rows = JSON.parse(run.stdout()) as Row[];
      expectContract(rows);
      expect(new Set(rows.map((r) => `${r.system}/${r.variant}/${r.metric}/${r.unit}`))).toEqual(
        new Set(['apiary', 'raw'].flatMap((s) => ['cross-thread', 'cross-node'].flatMap((v) => [`${s}/${v}/rss-growth/bytes`, `${s}/${v}/throughput/msg/s`]))),
      );
    } finally {
      run.dispose();
    }
  });

  it.each([
    ['topic-fanout', ['topic-fanout/apiary/-/throughput/msg/s', 'topic-fanout/apiary/direct-tells/throughput/msg/s', 'topic-fanout/apiary/sync/time/ms']],
    ['entity-ask', ['-', 'plain'].flatMap((v) => [`entity-ask/apiary/${v}/p50/us`, `entity-ask/apiary/${v}/p99/us`, `entity-ask/apiary/${v}/throughput/msg/s`])],
  ])('apiary bench %s --quick --json runs against a second process and gives its rows (and the baseline variant\'s)', async (scenario, want) => {
    const cli = fileURLToPath(new URL('../../dist/runtime/cli/main.js', import.meta.url));
    const outDir = mkdtempSync(join(tmpdir(), `apiary-bench-${scenario}-`));
    const run = startNode([cli, 'bench', scenario, '--quick', '--json', '--out', join(outDir, 'rows.json')]);
    try {
      expect(await run.exit(40_000), run.stderr()).toBe(0);
      const rows = JSON.parse(run.stdout()) as { scenario: string; system: string; metric: string; value: number; unit: string; variant?: string }[];
      expect(rows.map((r) => `${r.scenario}/${r.system}/${r.variant ?? '-'}/${r.metric}/${r.unit}`).sort()).toEqual([...want].sort());
      expect(rows.every((r) => Number.isFinite(r.value) && r.value > 0)).toBe(true);
    } finally {
      run.dispose();
      rmSync(outDir, { recursive: true, force: true });
    }
  });

  it('rejects an unknown scenario name as bad usage, before running anything or writing a file', async () => {
    const { runBench } = await import('../../dist/bench/run.js');
    const file = join(outDir, 'never.json');
    await expect(runBench(['no-such-scenario', '--quick', '--out', file])).rejects.toMatchObject({ usage: true, message: expect.stringMatching(/unknown scenario/) });
    expect(existsSync(file)).toBe(false);
  });

  it('names the peer versions package.json pins, in its "not installed" notes', async () => {
    const { PEER_VERSIONS, notInstalled } = await import('../../dist/bench/peers/load.js');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { devDependencies: Record<string, string> };
    for (const [peer, version] of Object.entries(PEER_VERSIONS)) expect(pkg.devDependencies[peer], peer).toBe(version);
    expect(notInstalled('nact', 'spawn')).toEqual({ scenario: 'spawn', system: 'nact', note: expect.stringMatching(/not installed.*nact@7\.6\.2/) });
  });
});
