/**
 * `tasks` and `recovery`: the durable task queue.
 * - `tasks`: submit → done. N tasks are submitted in slices of 500 per event-loop turn (at most
 *   `inFlight` not done) to a queue whose consumer (concurrency 1024, a handler that returns at
 *   once) completes them; `rate` = N ÷ (first submit → last done), p50/p99/p999 = each task's
 *   submit call → its `done` event (a loaded queue, not an idle one). `apiary` on LMDB in a temp
 *   directory (the embedded default), variant `redis` on a redis-server started here on
 *   127.0.0.1 (absent: a note). `raw`: the LMDB puts the same run needs — the task record
 *   written 3 times per task (submit, claim, complete), batched by lmdb-js — as tasks/s.
 *   Variants `one-at-a-time` and `redis-one-at-a-time`: p50/p99 of submit → done with one
 *   task in the queue at a time (the unloaded latency: two durable commits and a wake).
 * - `recovery`: a child node (bench/tasks-recovery-node.ts) submits 10,000 tasks to LMDB and
 *   is killed with `kill -9` before running any; `time` = from the restart (spawn) to its admin
 *   API answering `GET /tasks` (variant `answer`), to its first task done (`first-done`) and
 *   to all 10,000 done (headline). `raw`: a bare `node` process
 *   from spawn to its first line (the process start alone).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from 'lmdb';
import { RealClock } from '../actors/foundation/clock.js';
import type { SystemEvent } from '../actors/events.js';
import { openLmdbTaskStore } from '../runtime/tasks/lmdb-task-store.js';
import { openRedisTaskStore } from '../runtime/tasks/redis-task-store.js';
import { createTaskQueue } from '../runtime/tasks/task-queue.js';
import type { TaskStore } from '../runtime/tasks/task-store.js';
import { Latency, round, yieldToLoop, type BenchNote, type BenchRow, type ScenarioResult } from './stats.js';
import { notInstalled, peerInstalled } from './peers/load.js';
import { SubmitLoad } from './submit-load.js';

const REDIS_SERVER = '/usr/bin/redis-server';
const RECOVERY_NODE = fileURLToPath(new URL('./tasks-recovery-node.js', import.meta.url));

export interface TasksBenchOptions {
  tasks: number;
  inFlight: number;
  /** Samples of the one-at-a-time latency. */
  oneByOne: number;
}

/** Submit → done through one queue on `store`: the rate and each task's latency. */
async function submitToDone(store: TaskStore, n: number, inFlight: number): Promise<{ rate: number; latency: Latency }> {
  const load = new SubmitLoad(n, inFlight);
  const clock = new RealClock();
  const publish = (e: SystemEvent) => {
    if (e.type === 'task' && e.state === 'done') load.completed(e.id);
  };
  const tasks = createTaskQueue({ store, clock, system: { clock, publish } });
  const consumer = tasks.consume('bench', () => 'ok', { concurrency: 1024, leaseMs: 30_000, pollMs: 5 });
  const rate = await load.run(async (i) => (await tasks.submit({ queue: 'bench', payload: { i } })).id);
  await consumer.stop();
  await tasks.close();
  return { rate, latency: load.latency };
}

/** One task at a time: submit, wait for its `done` event, the next — the queue's latency unloaded. */
async function oneAtATime(store: TaskStore, n: number): Promise<Latency> {
  const latency = new Latency();
  const clock = new RealClock();
  let onDone: (id: string) => void = () => undefined;
  const publish = (e: SystemEvent) => {
    if (e.type === 'task' && e.state === 'done') onDone(e.id);
  };
  const tasks = createTaskQueue({ store, clock, system: { clock, publish } });
  const consumer = tasks.consume('idle', () => 'ok', { concurrency: 16, pollMs: 50 });
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const done = new Promise<void>((r) => (onDone = () => r()));
    await tasks.submit({ queue: 'idle', payload: { i } });
    await done;
    latency.recordMs(performance.now() - t0);
  }
  await consumer.stop();
  await tasks.close();
  return latency;
}

/** The same records written 3 times each, batched by lmdb-js: what the store alone costs. */
async function rawLmdb(dir: string, n: number): Promise<number> {
  const root = open({ path: dir, maxDbs: 4 });
  const db = root.openDB({ name: 'raw', encoding: 'msgpack' });
  const now = Date.now();
  const t0 = performance.now();
  for (let round = 0; round < 3; round++) {
    let last: Promise<unknown> = Promise.resolve();
    for (let i = 0; i < n; i++) {
      last = db.put(`id-${i}`, { id: `id-${i}`, queue: 'bench', payload: { i }, priority: 'medium', state: round === 0 ? 'queued' : round === 1 ? 'running' : 'done', attempts: round === 0 ? 0 : 1, retry: { shape: { kind: 'exponential', initial: 1000, factor: 2 }, maxAttempts: 3 }, createdAt: now, updatedAt: now, runAt: now, seq: i });
      if (i % 500 === 499) await yieldToLoop();
    }
    await last;
  }
  const rate = n / ((performance.now() - t0) / 1000);
  await root.close();
  return rate;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function startRedisServer(): Promise<{ url: string; stop: () => void } | undefined> {
  if (!existsSync(REDIS_SERVER)) return undefined;
  const port = await freePort();
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      const probe = await openRedisTaskStore({ redis: url, connectTimeoutMs: 200 });
      await probe.close();
      return { url, stop: () => child.kill('SIGKILL') };
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  child.kill('SIGKILL');
  return undefined;
}

function rateRow(system: string, value: number, variant?: string): BenchRow {
  return { scenario: 'tasks', system, metric: 'rate', value: round(value), unit: 'tasks/s', ...(variant === undefined ? {} : { variant }) };
}

export async function tasksBench(options: TasksBenchOptions): Promise<ScenarioResult> {
  const rows: BenchRow[] = [];
  const notes: BenchNote[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'apiary-bench-tasks-'));
  try {
    rows.push(rateRow('raw', await rawLmdb(join(dir, 'raw'), options.tasks)));
    const embedded = await submitToDone(await openLmdbTaskStore({ dir: join(dir, 'lmdb') }), options.tasks, options.inFlight);
    rows.push(rateRow('apiary', embedded.rate), ...embedded.latency.rows('tasks', 'apiary'));
    rows.push(...(await oneAtATime(await openLmdbTaskStore({ dir: join(dir, 'idle') }), options.oneByOne)).rows('tasks', 'apiary', 'one-at-a-time'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const redis = await startRedisServer();
  if (redis === undefined) notes.push({ scenario: 'tasks', system: 'apiary (redis)', note: `no redis-server at ${REDIS_SERVER} (apt-get install redis-server), no figure` });
  else {
    try {
      const shared = await submitToDone(await openRedisTaskStore({ redis: redis.url }), options.tasks, options.inFlight);
      rows.push(rateRow('apiary', shared.rate, 'redis'), ...shared.latency.rows('tasks', 'apiary', 'redis'));
      rows.push(...(await oneAtATime(await openRedisTaskStore({ redis: redis.url, prefix: 'idle:' }), options.oneByOne)).rows('tasks', 'apiary', 'redis-one-at-a-time'));
      // the peer on the same server: BullMQ, as apiary's queue on Redis above
      if (!peerInstalled('bullmq')) notes.push(notInstalled('bullmq', 'tasks'));
      else {
        const { bullmqSubmitToDone } = await import('./peers/bullmq.js');
        const bull = await bullmqSubmitToDone(redis.url, options.tasks, options.inFlight);
        rows.push(rateRow('bullmq', bull.rate, 'redis'), ...bull.latency.rows('tasks', 'bullmq', 'redis'));
      }
    } finally {
      redis.stop();
    }
  }
  return { rows, notes };
}

/** Spawns `args` and resolves the ms from spawn to the first stdout line matching `line` (and keeps the child). */
function timeTo(child: ChildProcess, patterns: RegExp[], t0: number, timeoutMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const times: number[] = [];
    let out = '';
    const timer = setTimeout(() => reject(new Error(`recovery bench: no ${patterns[times.length]} within ${timeoutMs} ms: ${out.slice(-300)}`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      while (times.length < patterns.length && patterns[times.length]!.test(out)) times.push(performance.now() - t0);
      if (times.length === patterns.length) {
        clearTimeout(timer);
        resolve(times);
      }
    });
    child.once('exit', () => times.length < patterns.length && reject(new Error(`recovery bench: the node exited: ${out.slice(-300)}`)));
  });
}

/** When the child's admin API first answered `GET /tasks` (ms after `t0`): asked as soon as it prints `ready HOST:PORT`. */
function readyAt(child: ChildProcess, t0: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /^ready (\S+)$/m.exec(out);
      if (m === null) return;
      child.stdout!.off('data', onData);
      fetch(`http://${m[1]}/tasks?limit=1`).then(async (res) => {
        await res.text();
        if (res.status === 200) resolve(performance.now() - t0);
        else reject(new Error(`recovery bench: GET /tasks answered ${res.status}`));
      }, reject);
    };
    child.stdout!.on('data', onData);
  });
}

export async function recoveryBench(options: { tasks: number }): Promise<ScenarioResult> {
  const dir = mkdtempSync(join(tmpdir(), 'apiary-bench-recovery-'));
  const rows: BenchRow[] = [];
  try {
    const first = spawn(process.execPath, [RECOVERY_NODE, dir, 'submit', String(options.tasks)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await timeTo(first, [/^submitted/m], performance.now(), 60_000);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    await fetch('http://127.0.0.1:1/').catch(() => undefined); // loads the fetch client before timing
    const t0 = performance.now();
    const second = spawn(process.execPath, [RECOVERY_NODE, dir, 'consume', String(options.tasks)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const answered = readyAt(second, t0);
    const [firstDone, allDone] = await timeTo(second, [/^first-done/m, /^all-done/m], t0, 60_000);
    const answer = await answered;
    second.kill('SIGKILL');
    const t1 = performance.now();
    const bare = spawn(process.execPath, ['-e', 'console.log("ready")'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [start] = await timeTo(bare, [/^ready/m], t1, 10_000);
    rows.push(
      { scenario: 'recovery', system: 'apiary', metric: 'time', value: round(allDone!), unit: 'ms' },
      { scenario: 'recovery', system: 'apiary', metric: 'time', value: round(answer), unit: 'ms', variant: 'answer' },
      { scenario: 'recovery', system: 'apiary', metric: 'time', value: round(firstDone!), unit: 'ms', variant: 'first-done' },
      { scenario: 'recovery', system: 'raw', metric: 'time', value: round(start!), unit: 'ms' },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { rows, notes: [] };
}
