/**
 * Crash test (slow, Jepsen-style): a child node takes submissions of 2,000 tasks, each with an
 * idempotency key, and runs them (its handler appends the key to a ledger through the store,
 * idempotently, counting executions); it is kill -9'd at 5 random points and restarted, and
 * after each restart gets again what was not acknowledged. At the end every task whose submit
 * resolved is done — one task per key, none lost — and the ledger holds every key once; keys
 * acknowledged before a kill and submitted again after it are acknowledged with the same task.
 * Executions beyond one per key (at-least-once: a kill between the ledger write and the
 * completion's commit) are counted and printed, not hidden. Then the same on Redis with two
 * consuming nodes, one of them killed five times.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from 'lmdb';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { openLmdbTaskStore, openRedisTaskStore, createTaskQueue, type Task } from '../../dist/index.js';
import { startNode, type NodeProcess } from './processes.js';
import { startRedisServer as startRedis, type RedisServer } from './redis-server.js';

const fixture = fileURLToPath(new URL('../fixtures/tasks-crash-node.mjs', import.meta.url));
const KEYS = Array.from({ length: 2000 }, (_, i) => `k${i}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanups: (() => Promise<void> | void)[] = [];

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Acks seen on a node's stdout: key → task id (a key acked twice must name the same task). */
function harvest(node: NodeProcess, acked: Map<string, string>): void {
  for (const m of node.stdout().matchAll(/^ack (\S+) (\S+)$/gm)) {
    const before = acked.get(m[1]!);
    if (before !== undefined) expect(m[2]).toBe(before);
    acked.set(m[1]!, m[2]!);
  }
}

/** Writes `submit KEY` lines, 50 every 15 ms, until done or the node is gone. */
async function stream(node: NodeProcess, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 50) {
    if (node.child.exitCode !== null || node.child.signalCode !== null) return;
    for (const k of keys.slice(i, i + 50)) node.send(`submit ${k}`);
    await sleep(15);
  }
}

function lastCounts(node: NodeProcess): Record<string, number> | undefined {
  const all = [...node.stdout().matchAll(/^counts (.+)$/gm)];
  return all.length === 0 ? undefined : (JSON.parse(all[all.length - 1]![1]!) as Record<string, number>);
}

async function kill9(node: NodeProcess): Promise<void> {
  node.child.kill('SIGKILL');
  await node.exit(5000);
}

function start(config: object): NodeProcess {
  const node = startNode([fixture, JSON.stringify(config)]);
  cleanups.push(() => node.dispose());
  return node;
}

/** Runs the kill/restart phases against `victim` (restarted by `restart`), then waits for all done. */
async function crashPhases(restart: () => Promise<NodeProcess>, acked: Map<string, string>, doneOf: (n: NodeProcess) => number): Promise<number[]> {
  const killPoints: number[] = [];
  for (let phase = 0; phase < 5; phase++) {
    const node = await restart();
    const at = 150 + Math.floor(Math.random() * 750);
    killPoints.push(at);
    // what was not acknowledged, and 100 keys that were (their acks must name the same task)
    const again = [...acked.keys()].sort(() => Math.random() - 0.5).slice(0, 100);
    void stream(node, [...again, ...KEYS.filter((k) => !acked.has(k))]);
    await sleep(at);
    await kill9(node);
    harvest(node, acked);
  }
  const last = await restart();
  const deadline = performance.now() + 15_000;
  for (;;) {
    await stream(
      last,
      KEYS.filter((k) => !acked.has(k)),
    );
    await sleep(100);
    harvest(last, acked);
    if (acked.size === KEYS.length && doneOf(last) === KEYS.length) break;
    if (performance.now() > deadline) throw new Error(`not all done: acked ${acked.size}, counts ${JSON.stringify(lastCounts(last))}`);
  }
  await kill9(last);
  return killPoints;
}

function report(label: string, figures: Record<string, unknown>): void {
  console.log(`[tasks-crash ${label}] ${JSON.stringify(figures)}`);
}

describe('tasks survive kill -9 (slow)', () => {
  it('on LMDB: every acknowledged submit is done once per key and appended to the ledger once, through 5 kills', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'apiary-tasks-crash-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const acked = new Map<string, string>();
    const restart = async () => {
      const node = start({ store: 'lmdb', dir });
      await node.waitFor(/^ready$/m, 10_000);
      return node;
    };
    const killPoints = await crashPhases(restart, acked, (n) => lastCounts(n)?.done ?? 0);

    const root = open({ path: dir, maxDbs: 8 });
    cleanups.push(() => root.close());
    const tasks = createTaskQueue({ store: await openLmdbTaskStore({ root }) });
    const all: Task[] = await tasks.list({ queue: 'crash', limit: 10_000 });
    const byKey = new Map<string, Task[]>();
    for (const t of all) byKey.set(t.idempotencyKey!, [...(byKey.get(t.idempotencyKey!) ?? []), t]);
    for (const [key, id] of acked) {
      expect(byKey.get(key)?.map((t) => [t.id, t.state])).toEqual([[id, 'done']]);
    }
    expect(all.length).toBe(KEYS.length);
    const ledger = root.openDB({ name: 'ledger' });
    const entries = [...ledger.getRange({ start: 'entry:', end: 'entry;' })].map((e) => e.value as string);
    expect(entries.length).toBe(KEYS.length);
    expect(new Set(entries).size).toBe(entries.length);
    const runs = KEYS.map((k) => (ledger.get(`runs:${k}`) as number | undefined) ?? 0);
    expect(runs.every((r) => r >= 1)).toBe(true);
    const executions = runs.reduce((a, b) => a + b, 0);
    report('lmdb', {
      killPointsMs: killPoints,
      acknowledged: acked.size,
      done: all.filter((t) => t.state === 'done').length,
      ledgerEntries: entries.length,
      executions,
      reExecutedKeys: runs.filter((r) => r > 1).length,
      redelivered: all.filter((t) => t.attempts > 1).length,
    });
  }, 60_000);

  it('on Redis with two consuming nodes, one killed 5 times: every acknowledged submit done, ledger once per key', async () => {
    const redis: RedisServer = await startRedis();
    cleanups.push(() => redis.stop());
    const prefix = 'crash:';
    const stable = start({ store: 'redis', url: redis.url, prefix, name: 'stable', leaseMs: 400 });
    await stable.waitFor(/^ready$/m, 10_000);
    const acked = new Map<string, string>();
    const restart = async () => {
      const node = start({ store: 'redis', url: redis.url, prefix, name: 'victim', leaseMs: 400 });
      await node.waitFor(/^ready$/m, 10_000);
      return node;
    };
    const killPoints = await crashPhases(restart, acked, () => lastCounts(stable)?.done ?? 0);
    await kill9(stable);

    const client = new Redis(redis.url);
    cleanups.push(() => void client.disconnect());
    const tasks = createTaskQueue({ store: await openRedisTaskStore({ redis: redis.url, prefix }) });
    cleanups.push(() => tasks.close());
    const all: Task[] = await tasks.list({ queue: 'crash', limit: 10_000 });
    const byKey = new Map<string, Task[]>();
    for (const t of all) byKey.set(t.idempotencyKey!, [...(byKey.get(t.idempotencyKey!) ?? []), t]);
    for (const [key, id] of acked) expect(byKey.get(key)?.map((t) => [t.id, t.state])).toEqual([[id, 'done']]);
    expect(all.length).toBe(KEYS.length);
    const entries = await client.lrange(`${prefix}ledger:list`, 0, -1);
    expect(entries.length).toBe(KEYS.length);
    expect(new Set(entries).size).toBe(entries.length);
    const runs = Object.values(await client.hgetall(`${prefix}ledger:runs`)).map(Number);
    expect(runs.length).toBe(KEYS.length);
    report('redis', {
      killPointsMs: killPoints,
      acknowledged: acked.size,
      done: all.filter((t) => t.state === 'done').length,
      ledgerEntries: entries.length,
      executions: runs.reduce((a, b) => a + b, 0),
      reExecutedKeys: runs.filter((r) => r > 1).length,
      redelivered: all.filter((t) => t.attempts > 1).length,
    });
  }, 60_000);
});
