/**
 * `npm run bench` / `apiary bench`: runs the scenarios, prints a table (or the JSON rows of
 * DESIGN §4 with --json) and writes bench/results/latest.json.
 *
 * Usage: node dist/bench/run.js [SCENARIO...] [--json] [--quick]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { crossThread } from './cross-thread.js';
import { crossNode } from './cross-node.js';
import type { BenchRow } from './stats.js';

const SCENARIOS: Record<string, (quick: boolean) => Promise<BenchRow[]>> = {
  'cross-thread': (quick) => crossThread({ pings: quick ? 2000 : 20_000, messages: quick ? 200_000 : 1_000_000 }),
  'cross-node': (quick) => crossNode({ pings: quick ? 2000 : 10_000, messages: quick ? 200_000 : 1_000_000 }),
};

export async function runBench(argv: string[]): Promise<BenchRow[]> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, quick: { type: 'boolean', default: false } },
  });
  const wanted = positionals.length > 0 ? positionals : Object.keys(SCENARIOS);
  const rows: BenchRow[] = [];
  for (const name of wanted) {
    const run = Object.entries(SCENARIOS).find(([k]) => name === k || name.startsWith(k));
    if (!run) throw new Error(`unknown scenario '${name}' (known: ${Object.keys(SCENARIOS).join(', ')})`);
    rows.push(...(await run[1](values.quick ?? false)));
  }
  const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}latest.json`, JSON.stringify(rows, null, 2));
  if (values.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else process.stdout.write(table(rows));
  return rows;
}

/** One line per scenario × system: p50, p99, throughput, and the ratio to the raw baseline. */
export function table(rows: BenchRow[]): string {
  const key = (r: BenchRow) => `${r.scenario}|${r.system}`;
  const groups = new Map<string, Map<string, BenchRow>>();
  for (const r of rows) {
    const g = groups.get(key(r)) ?? new Map<string, BenchRow>();
    g.set(r.metric, r);
    groups.set(key(r), g);
  }
  const lines = [['scenario', 'system', 'p50 µs', 'p99 µs', 'throughput msg/s', 'vs raw'].join('\t')];
  for (const [k, metrics] of groups) {
    const [scenario, system] = k.split('|') as [string, string];
    const raw = groups.get(`${scenario}|raw`);
    let ratio = '';
    if (system !== 'raw' && raw) {
      const p50 = metrics.get('p50')?.value;
      const rawP50 = raw.get('p50')?.value;
      const tp = metrics.get('throughput')?.value;
      const rawTp = raw.get('throughput')?.value;
      if (p50 !== undefined && rawP50) ratio = `RTT ×${(p50 / rawP50).toFixed(2)}`;
      else if (tp !== undefined && rawTp) ratio = `${((tp / rawTp) * 100).toFixed(0)}% of raw`;
    }
    lines.push(
      [scenario, system, metrics.get('p50')?.value ?? '', metrics.get('p99')?.value ?? '', metrics.get('throughput')?.value ?? '', ratio].join('\t'),
    );
  }
  return `${lines.join('\n')}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runBench(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`apiary bench: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
