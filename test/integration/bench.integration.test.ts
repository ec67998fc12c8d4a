/**
 * `npm run bench` / `apiary bench` output contract (DESIGN §4): tests that the JSON rows use
 * only the listed scenario, system, metric and unit names, with finite positive values.
 * No timing assertions: performance claims come from bench/ runs, not from tests.
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { startNode } from './processes.js';
import type { BenchRow } from '../../bench/stats.js';

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
];
const SYSTEMS = ['apiary', 'nact', 'comedy', 'raw'];
const UNITS: Record<string, string> = { p50: 'us', p99: 'us', p999: 'us', throughput: 'msg/s', rate: 'actors/s', 'heap-per-actor': 'bytes' };

type Row = BenchRow;

function expectContract(rows: Row[]): void {
  expect(rows.length).toBeGreaterThan(0);
  for (const row of rows) {
    expect(SCENARIOS).toContain(row.scenario);
    expect(SYSTEMS).toContain(row.system);
    expect(Object.keys(UNITS)).toContain(row.metric);
    expect(row.unit).toBe(UNITS[row.metric]);
    expect(Number.isFinite(row.value) && row.value > 0).toBe(true);
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
    try {
      rows = await runBench(['codec', 'in-thread-ping-pong', '--quick', '--json']);
    } finally {
      process.stdout.write = write;
    }
    expectContract(rows);
    expect(JSON.parse(out)).toEqual(rows);
    expect(new Set(rows.map((r) => `${r.scenario}/${r.system}`))).toEqual(
      new Set(['codec/raw', 'codec/apiary', ...SYSTEMS.map((s) => `in-thread-ping-pong/${s}`)]),
    );
  });

  it('apiary bench codec --quick --json prints the same rows from the CLI, and the table without --json', async () => {
    const cli = fileURLToPath(new URL('../../dist/runtime/cli/main.js', import.meta.url));
    const json = startNode([cli, 'bench', 'codec', '--quick', '--json']);
    const table = startNode([cli, 'bench', 'codec', '--quick']);
    try {
      expect(await json.exit(20_000)).toBe(0);
      expectContract(JSON.parse(json.stdout()) as Row[]);
      expect(await table.exit(20_000)).toBe(0);
      expect(table.stdout()).toMatch(/^scenario\s+system\s+p50 µs\s+p99 µs\s+throughput\s+vs baseline\s+vs best peer/);
    } finally {
      json.dispose();
      table.dispose();
    }
  });

  it('rejects an unknown scenario name', async () => {
    const { runBench } = await import('../../dist/bench/run.js');
    await expect(runBench(['no-such-scenario', '--quick'])).rejects.toThrow(/unknown scenario/);
  });
});
