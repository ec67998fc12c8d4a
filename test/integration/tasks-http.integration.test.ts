/**
 * Durable tasks as operators see them: the admin API's /tasks routes (with a bearer token) and
 * `apiary tasks list|show|retry|purge` as a child process against a node's admin server.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActorSystem, createMemoryTaskStore, createTaskQueue, startAdminServer, type AdminServer, type Task, type TaskQueue } from '../../dist/index.js';

const cli = fileURLToPath(new URL('../../dist/runtime/cli/main.js', import.meta.url));
const TOKEN = 'task-test-token-0123456789';
let system: ActorSystem;
let tasks: TaskQueue;
let admin: AdminServer;
let base: string;
const auth = { authorization: `Bearer ${TOKEN}` };

beforeAll(async () => {
  system = new ActorSystem({ name: 'tasks-http' });
  tasks = createTaskQueue({ store: createMemoryTaskStore(), system });
  admin = await startAdminServer(system, { port: 0, token: TOKEN, tasks });
  base = `http://${admin.address}`;
});

afterAll(async () => {
  await admin.close();
  await tasks.close();
  await system.stop();
});

function apiary(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args, '--http', admin.address], { timeout: 10_000, env: { ...process.env, APIARY_ADMIN_TOKEN: TOKEN } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function post(path: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

describe('the /tasks routes', () => {
  it('POST /tasks submits (201), a reused idempotency key answers the first task (200), GET shows it, /metrics counts it', async () => {
    const a = await post('/tasks', { queue: 'emails', payload: { to: 'a@example.com' }, priority: 'high', idempotencyKey: 'mail-1' });
    expect(a.status).toBe(201);
    expect(a.json).toMatchObject({ queue: 'emails', state: 'queued', priority: 'high', payload: { to: 'a@example.com' } });
    const again = await post('/tasks', { queue: 'emails', payload: { to: 'other' }, idempotencyKey: 'mail-1' });
    expect(again.status).toBe(200);
    expect(again.json.id).toBe(a.json.id);
    const one = await fetch(`${base}/tasks/${a.json.id}`, { headers: auth });
    expect(one.status).toBe(200);
    expect(((await one.json()) as Task).id).toBe(a.json.id);
    const list = (await (await fetch(`${base}/tasks?queue=emails`, { headers: auth })).json()) as { tasks: Task[]; counts: Record<string, number> };
    expect(list.tasks.map((t) => t.id)).toEqual([a.json.id]);
    expect(list.counts.queued).toBe(1);
    const metrics = await (await fetch(`${base}/metrics`, { headers: auth })).text();
    expect(metrics).toMatch(/^apiary_tasks_total\{queue="emails",state="queued"\} 1$/m);
  });

  it('answers bad input 400 with a stable code, an unknown id 404 ERR_TASK_NOT_FOUND, no token 401', async () => {
    expect(await post('/tasks', '{not json')).toMatchObject({ status: 400, json: { error: { code: 'ERR_BAD_REQUEST' } } });
    expect(await post('/tasks', { payload: 1 })).toMatchObject({ status: 400, json: { error: { code: 'ERR_INVALID_ARGUMENT', field: 'queue' } } });
    expect(await post('/tasks', { queue: 'q', priority: 'asap' })).toMatchObject({ status: 400, json: { error: { code: 'ERR_INVALID_ARGUMENT', field: 'priority' } } });
    const missing = await fetch(`${base}/tasks/no-such-task`, { headers: auth });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('ERR_TASK_NOT_FOUND');
    expect((await fetch(`${base}/tasks`)).status).toBe(401);
    expect((await fetch(`${base}/tasks?state=lost`, { headers: auth })).status).toBe(400);
  });

  it('refuses a payload nested past the codec depth (400 ERR_UNSERIALIZABLE) and a body past 1 MiB (413 ERR_BODY_TOO_LARGE, connection closed); the node serves on', async () => {
    const deep = `{"queue":"q","payload":${'['.repeat(50_000)}${']'.repeat(50_000)}}`;
    expect(await post('/tasks', deep)).toMatchObject({ status: 400, json: { error: { code: 'ERR_UNSERIALIZABLE' } } });
    const big = await fetch(`${base}/tasks`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: 'a'.repeat(2 * 1024 * 1024) });
    expect(big.status).toBe(413);
    expect(big.headers.get('connection')).toBe('close');
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe('ERR_BODY_TOO_LARGE');
    expect((await fetch(`${base}/tasks?queue=q`, { headers: auth })).status).toBe(200);
  });
});

describe('apiary tasks', () => {
  it('lists, shows, retries a dead task and purges finished ones', async () => {
    const dead = await tasks.submit({ queue: 'cli', payload: { n: 7 } }, { retry: { shape: { kind: 'fixed', delay: 0 }, maxAttempts: 1 } });
    const [claimed] = await tasks.claim('cli');
    await tasks.fail(claimed!, new Error('it broke'));
    const list = await apiary(['tasks', 'list', '--queue', 'cli']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${dead.id}\\s+cli\\s+dead\\s+medium\\s+1`));
    const show = await apiary(['tasks', 'show', dead.id]);
    expect(show.stdout).toMatch(/state\s+dead/);
    expect(show.stdout).toMatch(/error\s+Error: it broke/);
    const json = await apiary(['tasks', 'show', dead.id, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ id: dead.id, state: 'dead' });
    const retry = await apiary(['tasks', 'retry', dead.id]);
    expect(retry.code).toBe(0);
    expect((await tasks.get(dead.id)).state).toBe('queued');
    const refused = await apiary(['tasks', 'retry', dead.id]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/ERR_INVALID_ARGUMENT/);
    const [again] = await tasks.claim('cli');
    await tasks.complete(again!, 'fine');
    const purge = await apiary(['tasks', 'purge', '--queue', 'cli']);
    expect(purge.stdout).toBe('purged 1 task\n');
    const gone = await apiary(['tasks', 'show', dead.id]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/ERR_TASK_NOT_FOUND/);
  });

  it('exits 2 for an unknown sub-command or a missing ID', async () => {
    expect((await apiary(['tasks', 'frob'])).code).toBe(2);
    expect((await apiary(['tasks', 'show'])).code).toBe(2);
  });
});

describe('a node started with --store', () => {
  it('serves its durable task queue: a task POSTed before a restart is still there, queued, after it', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { startNode } = await import('./processes.js');
    const app = fileURLToPath(new URL('../fixtures/logs-config.mjs', import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'apiary-node-tasks-'));
    const start = async () => {
      const proc = startNode([cli, 'start', '--name', 'keeper', '--config', app, '--threads', '0', '--http', '127.0.0.1:0', '--store', `lmdb:${dir}`]);
      await proc.waitFor(/ready ·/, 20_000);
      return { proc, http: `http://${/http: (\S+) ·/.exec(proc.stdout())![1]}` };
    };
    const first = await start();
    try {
      const res = await fetch(`${first.http}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ queue: 'reports', payload: { n: 1 } }) });
      expect(res.status).toBe(201);
      const { id } = (await res.json()) as Task;
      first.proc.child.kill('SIGTERM');
      expect(await first.proc.exit(15_000)).toBe(0);
      const second = await start();
      try {
        const again = await fetch(`${second.http}/tasks/${id}`);
        expect(again.status).toBe(200);
        expect(await again.json()).toMatchObject({ id, queue: 'reports', state: 'queued', payload: { n: 1 } });
      } finally {
        second.proc.dispose();
      }
    } finally {
      first.proc.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
