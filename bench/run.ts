/**
 * `apiary bench` (and `npm run bench` in a checkout): runs the scenarios, prints a table (or
 * the JSON rows of the bench contract with --json, README) and writes the rows to a file in the working
 * directory — `./apiary-bench-results.json`, or `--out FILE` — never into the package.
 *
 * Usage: apiary bench [SCENARIO...] [--json] [--quick] [--out FILE]
 *        apiary bench --http HOST:PORT [--admin-token-file F] [--path PATH] [--message JSON] [--kill] [--json] [--quick] [--out FILE]
 * A SCENARIO is a scenario name (bench/README.md) (e.g. `codec`) or a group (`in-thread`, `cross-thread`,
 * `cross-node`); none runs them all. Notes (why a system has no figure, e.g. a peer that is
 * not installed) are printed under the table, or on stderr with --json (stdout stays JSON).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '../runtime/cli/usage.js';
import { askUnderLoad } from './ask-under-load.js';
import { backpressure } from './backpressure.js';
import { codec } from './codec.js';
import { crossThread } from './cross-thread.js';
import { httpBench } from './http.js';
import { inThreadPingPong, inThreadThroughput } from './in-thread.js';
import { persist } from './persist.js';
import { topicFanout } from './topic-fanout.js';
import { entityAsk } from './entity-ask.js';
import { crossNode } from './cross-node.js';
import { restart } from './restart.js';
import { spawn } from './spawn.js';
import { recoveryBench, tasksBench } from './tasks.js';
import type { BenchNote, BenchRow, ScenarioResult } from './stats.js';
import { table } from './table.js';

interface Group {
  /** The scenario names this group measures. */
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
  restart: { scenarios: ['restart'], run: (q) => restart({ inThread: q ? 500 : 5000, threadCrashes: q ? 3 : 10 }) },
  'ask-under-load': { scenarios: ['ask-under-load'], run: (q) => askUnderLoad({ asks: q ? 300 : 2000 }) },
  codec: { scenarios: ['codec'], run: (q) => codec({ iterations: q ? 2000 : 20_000 }) },
  backpressure: { scenarios: ['backpressure'], run: (q) => backpressure({ seconds: q ? 1 : 5 }) },
  tasks: { scenarios: ['tasks'], run: (q) => tasksBench({ tasks: q ? 5000 : 30_000, inFlight: 10_000, oneByOne: q ? 100 : 1000 }) },
  recovery: { scenarios: ['recovery'], run: () => recoveryBench({ tasks: 10_000 }) },
  persist: { scenarios: ['persist'], run: (q) => persist({ oneActorEvents: q ? 100 : 500, actors: 1000, rounds: q ? 5 : 40 }) },
  'topic-fanout': { scenarios: ['topic-fanout'], run: (q) => topicFanout({ subscribers: 100, messages: q ? 500 : 5000 }) },
  'entity-ask': { scenarios: ['entity-ask'], run: (q) => entityAsk({ pings: q ? 200 : 2000, messages: q ? 2000 : 20_000 }) },
};

/** The groups `names` select: a group name, a §4 scenario name, or a prefix of either (`in-thread`). */
function select(names: string[]): string[] {
  if (names.length === 0) return Object.keys(GROUPS);
  const picked = new Set<string>();
  for (const name of names) {
    const hits = Object.entries(GROUPS).filter(([k, g]) => k.startsWith(name) || g.scenarios.some((s) => s.startsWith(name)));
    if (hits.length === 0) {
      const known = Object.values(GROUPS).flatMap((g) => g.scenarios);
      throw new UsageError(`bench: unknown scenario '${name}' (known: ${known.join(', ')})`);
    }
    for (const [k] of hits) picked.add(k);
  }
  return [...picked];
}

/** Where the rows go when no `--out` says otherwise: the working directory. */
export const DEFAULT_OUT = 'apiary-bench-results.json';

/** One note per system and text: the same note from several scenarios is listed once, with all of them. */
function mergeNotes(notes: BenchNote[]): BenchNote[] {
  const merged = new Map<string, BenchNote>();
  for (const n of notes) {
    const key = `${n.system}\u0000${n.note}`;
    const seen = merged.get(key);
    if (seen === undefined) merged.set(key, { ...n });
    else if (!seen.scenario.split(', ').includes(n.scenario)) seen.scenario = `${seen.scenario}, ${n.scenario}`;
  }
  return [...merged.values()];
}

/**
 * Runs the selected scenarios (or, with `--http`, measures a running node), prints the table
 * or the JSON rows, writes the rows to `--out` (default ./apiary-bench-results.json) and
 * resolves with them. Rejects with a UsageError (exit 2) for bad arguments.
 */
export async function runBench(argv: string[]): Promise<BenchRow[]> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      http: { type: 'string' },
      path: { type: 'string' },
      message: { type: 'string' },
      kill: { type: 'boolean', default: false },
      'admin-token-file': { type: 'string' },
    },
  });
  const quick = values.quick ?? false;
  if (values.http === undefined) {
    for (const flag of ['path', 'message', 'kill', 'admin-token-file'] as const) {
      if (values[flag] !== undefined && values[flag] !== false) throw new UsageError(`bench: --${flag} needs --http HOST:PORT (see apiary bench --help)`);
    }
  } else if (positionals.length > 0) throw new UsageError(`bench: no SCENARIO with --http (got '${positionals[0]}')`);
  if (values.out === '') throw new UsageError('bench: --out needs a file name');
  const out = resolve(values.out ?? DEFAULT_OUT);
  const groups = values.http === undefined ? select(positionals) : [];
  const rows: BenchRow[] = [];
  const notes: BenchNote[] = [];
  if (values.http !== undefined) {
    const r = await httpBench({ http: values.http, tokenFile: values['admin-token-file'], path: values.path, message: values.message, quick, kill: values.kill ?? false });
    rows.push(...r.rows);
    notes.push(...r.notes);
  } else {
    for (const name of groups) {
      const started = performance.now();
      const r = await GROUPS[name]!.run(quick);
      rows.push(...r.rows);
      notes.push(...r.notes);
      if (!values.json) process.stderr.write(`  ${name}: ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    }
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(rows, null, 2)}\n`);
  const merged = mergeNotes(notes);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    for (const n of merged) process.stderr.write(`note: ${n.scenario} / ${n.system}: ${n.note}\n`);
  } else process.stdout.write(table(rows, merged));
  const shown = relative(process.cwd(), out);
  process.stderr.write(`${rows.length} rows written to ${shown.startsWith('..') || shown === '' ? out : shown}\n`);
  return rows;
}
