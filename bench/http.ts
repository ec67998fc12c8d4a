/**
 * `apiary bench --http HOST:PORT`: measures a running node through its admin API, from
 * outside (an HTTP client on this machine; nothing here is a node-to-node figure).
 * - `http-ask` (always): `POST /actors/{path}/ask` with the message as JSON (`apiary`),
 *   beside `raw` = `GET /health`, the HTTP round trip alone. An ask changes nothing but what
 *   the actor does with the message: pick one it answers without side effects.
 * - `http-kill-restart` (only with `--kill`): `POST /actors/{path}/kill`, then `/tree` polled
 *   until the actor runs again with one more restart (and answers an ask, if it does). This
 *   really crashes the actor, and its supervisor counts each kill against its intensity.
 * The actor is `--path`, or else the first running worker in the tree; the message is
 * `--message` (JSON, default `"ping"`). A node with an admin token needs it: `--admin-token-file`
 * or APIARY_ADMIN_TOKEN (every request carries it, the raw GET /health too).
 */
import { adminTarget } from '../runtime/cli/admin-client.js';
import { CliError, UsageError } from '../runtime/cli/usage.js';
import { Latency, type BenchNote, type BenchRow, type ScenarioResult } from './stats.js';

/** How long a killed actor gets to run (and answer) again before the kill → restart run gives up. */
const RESTART_WAIT_MS = 10_000;

export interface HttpBenchOptions {
  http: string;
  /** `--admin-token-file`; else APIARY_ADMIN_TOKEN (or _FILE) from the environment. */
  tokenFile?: string | undefined;
  path: string | undefined;
  message: string | undefined;
  quick: boolean;
  /** Also measure kill → restart (crashes the actor `kills` times); default false: read-only. */
  kill: boolean;
}

interface Entry {
  path: string;
  kind: string;
  status: string;
  restarts: number;
  children?: Entry[];
}

function find(entries: Entry[], pred: (e: Entry) => boolean): Entry | undefined {
  for (const e of entries) {
    if (pred(e)) return e;
    const inner = find(e.children ?? [], pred);
    if (inner) return inner;
  }
  return undefined;
}

export async function httpBench(options: HttpBenchOptions): Promise<ScenarioResult> {
  const { base, headers } = adminTarget(options.http, options.tokenFile);
  const body = options.message ?? '"ping"';
  try {
    JSON.parse(body); // a malformed --message fails here, not on the node
  } catch {
    throw new UsageError(`bench: --message is not JSON: ${body}`);
  }
  const tree = async (): Promise<Entry[]> => {
    const res = await fetch(`${base}/tree`, { headers });
    if (res.status === 401) throw new CliError(`${base}/tree answered 401: give the node's admin token with --admin-token-file FILE or APIARY_ADMIN_TOKEN`);
    return ((await res.json()) as { children: Entry[] }).children;
  };
  let first: Entry[];
  try {
    first = await tree();
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`no node answers at ${base} (is one running with --http there?)`);
  }
  const worker = options.path ?? find(first, (e) => e.kind === 'worker' && e.status === 'running')?.path;
  if (worker === undefined) throw new CliError(`no running worker at ${base}/tree (give one with --path)`);
  const path = worker.startsWith('/') ? worker : `/${worker}`;
  const n = options.quick ? 200 : 2000;
  const kills = options.quick ? 3 : 10;
  const rows: BenchRow[] = [];
  const notes: BenchNote[] = [];

  const health = new Latency();
  const askLat = new Latency();
  const ask = async (): Promise<boolean> => {
    const res = await fetch(`${base}/actors${path}/ask`, { method: 'POST', body, headers: { ...headers, 'content-type': 'application/json' } });
    await res.arrayBuffer();
    return res.ok;
  };
  const asks = await ask();
  for (let i = 0; i < n; i++) {
    let t0 = performance.now();
    await (await fetch(`${base}/health`, { headers })).arrayBuffer();
    health.recordMs(performance.now() - t0);
    if (!asks) continue;
    t0 = performance.now();
    await ask();
    askLat.recordMs(performance.now() - t0);
  }
  rows.push(...health.rows('http-ask', 'raw'));
  if (asks) rows.push(...askLat.rows('http-ask', 'apiary'));
  else notes.push({ scenario: 'http-ask', system: 'apiary', note: `POST ${path}/ask did not answer (no ask route, or the actor fails on ${body})` });
  notes.push({ scenario: 'http-ask', system: 'apiary', note: `measured over HTTP against ${base}, actor ${path}` });
  if (!options.kill) return { rows, notes };

  const restart = new Latency();
  for (let i = 0; i < kills; i++) {
    const before = find(await tree(), (e) => e.path === path);
    if (before === undefined || before.status !== 'running') break;
    const t0 = performance.now();
    const res = await fetch(`${base}/actors${path}/kill`, { method: 'POST', headers });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`POST ${path}/kill answered ${res.status}`);
    let back = false;
    while (!back && performance.now() - t0 < RESTART_WAIT_MS) {
      const now = find(await tree(), (e) => e.path === path);
      back = now !== undefined && now.status === 'running' && now.restarts > before.restarts;
    }
    if (back && (!asks || (await ask()))) restart.recordMs(performance.now() - t0);
    else {
      notes.push({ scenario: 'http-kill-restart', system: 'apiary', note: `${path} was not running and answering ${RESTART_WAIT_MS} ms after a kill` });
      break;
    }
  }
  if (restart.count > 0) rows.push(...restart.rows('http-kill-restart', 'apiary'));
  notes.push({ scenario: 'http-kill-restart', system: 'apiary', note: `${restart.count} kill(s) of ${path}, each counted by its supervisor` });
  return { rows, notes };
}
