/**
 * Drives a cluster node process (test/fixtures/cluster-node.mjs) for the multi-node tests:
 * JSON commands on its stdin, `RESULT {json}` lines back, member events as they happen.
 */
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { startNode, type NodeProcess } from './processes.js';

const script = fileURLToPath(new URL('../fixtures/cluster-node.mjs', import.meta.url));

export interface DrivenNode {
  name: string;
  url: string;
  http: string;
  proc: NodeProcess;
  /** Sends a command; resolves with its `ok` value, rejects with its error code (bounded by `ms`). */
  cmd<T = any>(cmd: Record<string, unknown>, ms?: number): Promise<T>;
  /** Every RESULT line so far, parsed, with the ms (performance.now) it was read at. */
  results(): { at: number; value: any }[];
  /** Waits for a RESULT matching `match`, bounded by `ms`; resolves with its read time. */
  waitResult(match: (v: any) => boolean, ms: number): Promise<number>;
}

let nextId = 1;

export async function startDriven(options: Record<string, unknown> & { name: string }, env: NodeJS.ProcessEnv = process.env): Promise<DrivenNode> {
  const proc = startNode([script, JSON.stringify(options)], env);
  const seen: { at: number; value: any }[] = [];
  let consumed = 0;
  const poll = () => {
    const lines = proc.stdout().split('\n');
    for (; consumed < lines.length - 1; consumed++) {
      const line = lines[consumed]!;
      if (line.startsWith('RESULT ')) seen.push({ at: performance.now(), value: JSON.parse(line.slice(7)) });
    }
  };
  proc.child.stdout!.on('data', poll);
  try {
    await proc.waitFor(/READY \S+ wss?:\/\/\S+ http:\/\/\S+/, 20_000);
  } catch (err) {
    proc.dispose();
    throw err;
  }
  const [, , url, http] = /READY (\S+) (wss?:\/\/\S+) (http:\/\/\S+)/.exec(proc.stdout())!;
  const waitResult = async (match: (v: any) => boolean, ms: number): Promise<number> => {
    const deadline = performance.now() + ms;
    for (;;) {
      poll();
      const hit = seen.find((r) => match(r.value));
      if (hit) return hit.at;
      if (performance.now() > deadline || proc.child.exitCode !== null) {
        throw new Error(`${options.name}: no matching result within ${ms} ms:\n${proc.stdout()}${proc.stderr()}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return {
    name: options.name,
    url: url!,
    http: http!,
    proc,
    results: () => (poll(), seen),
    waitResult,
    async cmd(cmd, ms = 20_000) {
      const id = nextId++;
      proc.send(JSON.stringify({ ...cmd, id }));
      await waitResult((v) => v.id === id, ms);
      const r = seen.find((x) => x.value.id === id)!.value;
      if ('error' in r) throw Object.assign(new Error(`${String(r.error)} ${r.message ?? ''} ${r.cause ?? ''}`), { code: r.error });
      return r.ok;
    },
  };
}

/** Polls `GET /members` of a node until `check` holds, bounded by `ms`. */
export async function membersUntil(http: string, check: (members: { node: string; state: string; incarnation: number }[]) => boolean, ms: number) {
  const deadline = performance.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const body = (await (await fetch(`${http}/members`)).json()) as { members: { node: string; state: string; incarnation: number }[] };
      last = body.members;
      if (check(body.members)) return body.members;
    } catch (err) {
      last = err;
    }
    if (performance.now() > deadline) throw new Error(`members did not settle within ${ms} ms: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export type MemberRow = { node: string; state: string; incarnation: number };

/** A `membersUntil` check: exactly `names`, all up. */
export const allUp = (names: string[]) => (ms: MemberRow[]) => names.every((n) => ms.some((m) => m.node === n && m.state === 'up')) && ms.length === names.length;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `f` every `everyMs` until `check` holds, bounded by `ms` (the error names `what` and the last value); returns that value. */
export async function until<T>(f: () => Promise<T>, check: (v: T) => boolean, ms: number, what: string, everyMs = 100): Promise<T> {
  const deadline = performance.now() + ms;
  let last: T;
  for (;;) {
    last = await f();
    if (check(last)) return last;
    if (performance.now() > deadline) throw new Error(`${what}: not within ${ms} ms, last ${JSON.stringify(last)}`);
    await sleep(everyMs);
  }
}

/** The value of one series (`name{labels}` exactly as exposed) in a node's `GET /metrics`; NaN if absent. */
export async function metric(http: string, series: string): Promise<number> {
  const text = await (await fetch(`${http}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
}

/**
 * The processes of one test file's tests, every one killed after each test: `node` starts a
 * driven node (with `env`, default the file's), `track` adds any other process.
 */
export function nodesOfTest(fileEnv: NodeJS.ProcessEnv = process.env) {
  const running: { dispose(): void }[] = [];
  afterEach(() => {
    for (const p of running.splice(0)) p.dispose();
  });
  return {
    async node(options: Record<string, unknown> & { name: string }, env: NodeJS.ProcessEnv = fileEnv): Promise<DrivenNode> {
      const n = await startDriven(options, env);
      running.push(n.proc);
      return n;
    },
    track<T extends { dispose(): void }>(p: T): T {
      running.push(p);
      return p;
    },
  };
}
