/**
 * `npm run bench` / `apiary bench`: runs the scenarios, prints a table (or the JSON rows of
 * DESIGN §4 with --json) and writes bench/results/latest.json.
 *
 * Usage: node dist/bench/run.js [SCENARIO...] [--json] [--quick]
 *        node dist/bench/run.js --http HOST:PORT [--path PATH] [--message JSON] [--json] [--quick]
 * A SCENARIO is a DESIGN §4 scenario name (e.g. `codec`) or a group (`in-thread`, `cross-thread`,
 * `cross-node`); none runs them all.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { askUnderLoad } from './ask-under-load.js';
import { codec } from './codec.js';
import { crossThread } from './cross-thread.js';
import { httpBench } from './http.js';
import { inThreadPingPong, inThreadThroughput } from './in-thread.js';
import { crossNode } from './cross-node.js';
import { restart } from './restart.js';
import { spawn } from './spawn.js';
import type { BenchNote, BenchRow, ScenarioResult } from './stats.js';
import { table } from './table.js';

interface Group {
  /** The DESIGN §4 scenario names this group measures. */
  scenarios: string[];
  run(quick: boolean): Promise<ScenarioResult>;
}

const GROUPS: Record<string, Group> = {
  'in-thread-ping-pong': {
    scenarios: ['in-thread-ping-pong'],
    run: (q) => inThreadPingPong({ pings: q ? 5000 : 50_000, messages: 0, iterations: 0 }),
  },
  'in-thread-throughput': {
    scenarios: ['in-thread-throughput'],
    run: (q) => inThreadThroughput({ pings: 0, messages: q ? 100_000 : 1_000_000, iterations: q ? 3 : 5 }),
  },
  'cross-thread': {
    scenarios: ['cross-thread-ping-pong', 'cross-thread-throughput'],
    run: (q) => crossThread({ pings: q ? 1000 : 10_000, messages: q ? 100_000 : 1_000_000, iterations: q ? 2 : 3 }),
  },
  'cross-node': {
    scenarios: ['cross-node-ask', 'cross-node-throughput'],
    // raw ws and apiary against the same peer process, in the same run
    run: async (q) => ({
      rows: await crossNode({ pings: q ? 1000 : 10_000, messages: q ? 100_000 : 1_000_000 }),
      notes: [{ scenario: 'cross-node-*', system: 'nact, comedy', note: 'no remoting to compare (nact: none; comedy: "remote" mode needs its own listener, not wired here)' }],
    }),
  },
  spawn: { scenarios: ['spawn'], run: (q) => spawn({ actors: q ? 100_000 : 1_000_000, peerActors: q ? 2000 : 10_000 }) },
  restart: { scenarios: ['restart'], run: (q) => restart({ inThread: q ? 200 : 2000, threadCrashes: q ? 3 : 10 }) },
  'ask-under-load': { scenarios: ['ask-under-load'], run: (q) => askUnderLoad({ asks: q ? 300 : 2000 }) },
  codec: { scenarios: ['codec'], run: (q) => codec({ iterations: q ? 2000 : 20_000 }) },
};

/** The groups `names` select: a group name, a §4 scenario name, or a prefix of either (`in-thread`). */
function select(names: string[]): string[] {
  if (names.length === 0) return Object.keys(GROUPS);
  const picked = new Set<string>();
  for (const name of names) {
    const hits = Object.entries(GROUPS).filter(([k, g]) => k.startsWith(name) || g.scenarios.some((s) => s.startsWith(name)));
    if (hits.length === 0) {
      const known = Object.values(GROUPS).flatMap((g) => g.scenarios);
      throw new Error(`unknown scenario '${name}' (known: ${known.join(', ')})`);
    }
    for (const [k] of hits) picked.add(k);
  }
  return [...picked];
}

/**
 * Runs the selected scenarios (or, with `--http`, measures a running node), prints the table
 * or the JSON rows, writes bench/results/latest.json and resolves with the rows.
 */
export async function runBench(argv: string[]): Promise<BenchRow[]> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      http: { type: 'string' },
      path: { type: 'string' },
      message: { type: 'string' },
    },
  });
  const quick = values.quick ?? false;
  const rows: BenchRow[] = [];
  const notes: BenchNote[] = [];
  if (values.http !== undefined) {
    const r = await httpBench({ http: values.http, path: values.path, message: values.message, quick });
    rows.push(...r.rows);
    notes.push(...r.notes);
  } else {
    for (const name of select(positionals)) {
      const started = performance.now();
      const r = await GROUPS[name]!.run(quick);
      rows.push(...r.rows);
      notes.push(...r.notes);
      if (!values.json) process.stderr.write(`  ${name}: ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    }
  }
  const dir = fileURLToPath(new URL('../../bench/results', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}latest.json`, `${JSON.stringify(rows, null, 2)}\n`);
  if (values.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else process.stdout.write(table(rows, notes));
  return rows;
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
