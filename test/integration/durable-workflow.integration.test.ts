/**
 * A durable workflow in a real node process on a real LMDB store: killed with -9 right after
 * step 3 of 5 is durable, the node started again resumes the run at the durable timer and
 * step 4 — steps 1–3 are never asked again — and the timer fires at its journaled wake-up
 * time, not a full wait after the restart. The README's example is examples/durable-workflow.mjs
 * and runs as pasted. `GET /workflows` & co. and `apiary workflows list | show | signal` reach
 * an engine registered with its system. On a real redis-server shared by two engines (two
 * nodes), a signal sent through one reaches the run the other drives, and a takeover fences
 * the old coordinator. Slow: eight node processes and a redis-server, ~10 s.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { Actor, ActorSystem, DurableWorkflows, MemoryStore, openStore, startAdminServer } from '../../dist/index.js';
import { startNode, type NodeProcess } from './processes.js';
import { startRedisServer } from './redis-server.js';

const fixture = new URL('../fixtures/durable-workflow-node.mjs', import.meta.url).pathname;
const root = new URL('../..', import.meta.url).pathname;
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function tempDir(): string {
  const base = mkdtempSync(join(tmpdir(), 'apiary-durable-wf-'));
  cleanups.push(() => rmSync(base, { recursive: true, force: true }));
  return base;
}

function node(dir: string): NodeProcess {
  const p = startNode([fixture, dir]);
  cleanups.unshift(() => p.dispose());
  return p;
}

const asked = (out: string): string[] => [...out.matchAll(/^ask (\w+) \d+$/gm)].map((m) => m[1]!);

describe('a durable workflow in a node killed with -9', () => {
  it('resumes after step 3 without asking steps 1–3 again; its timer keeps its wake-up time', { timeout: 20_000 }, async () => {
    const dir = join(tempDir(), 'store');

    const first = node(dir);
    await first.waitFor(/^durable s3$/m, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the 1 s timer is journaled, s4 not yet asked
    first.child.kill('SIGKILL');
    await first.exit(5_000);
    const killedAt = Date.now();
    expect(first.stdout()).toMatch(/^resumed 0$/m);
    expect(asked(first.stdout())).toEqual(['s1', 's2', 's3']);

    const second = node(dir);
    await second.waitFor(/^result /m, 10_000);
    expect(await second.exit(5_000)).toBe(0);
    const out = second.stdout();
    expect(out).toMatch(/^resumed 1$/m);
    expect(asked(out)).toEqual(['s4', 's5']); // s1–s3 finished before the kill: never again
    expect(out).toMatch(/^result completed s5\(s4\(\d+\)\)$/m);
    const wake = Number(/^wake (\d+)$/m.exec(out)![1]);
    const s4At = Number(/^ask s4 (\d+)$/m.exec(out)![1]);
    expect(s4At).toBeGreaterThanOrEqual(wake); // the timer waited until its wake-up…
    expect(wake).toBeLessThan(killedAt + 1000); // …which was set by the first process, not restarted
  });
});

describe('the README example of durable workflows', () => {
  it('is the same code as examples/durable-workflow.mjs', () => {
    const readme = readFileSync(`${root}README.md`, 'utf8');
    const block = /## Durable workflows\n[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBe(readFileSync(`${root}examples/durable-workflow.mjs`, 'utf8'));
  });

  it('runs to the end, and run again on its directory finds the finished run', () => {
    const dir = join(tempDir(), 'store');
    const run = (): string[] => execFileSync(process.execPath, ['examples/durable-workflow.mjs', dir], { cwd: root, encoding: 'utf8', timeout: 15_000 }).trim().split('\n');
    const expected = ['resumed 0', 'publish(draft(bees), ann)', 'article-42 completed'];
    expect(run()).toEqual(expected);
    expect(run()).toEqual(expected);
  });
});

describe('durable workflow runs through the admin API and `apiary workflows`', () => {
  const apiary = (args: string[]) =>
    promisify(execFile)(process.execPath, [`${root}bin/apiary.js`, ...args], { timeout: 15_000 }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }),
    );

  it('lists, shows and signals a run; 404 for an unknown run, 409 for a finished one, 404 with no engine', async () => {
    class Writer extends Actor<{ step: string; inputs: Record<string, unknown> }, string> {
      receive({ step, inputs }: { step: string; inputs: Record<string, unknown> }): string {
        return `${step}(${Object.values(inputs).map((v) => JSON.stringify(v)).join(',')})`;
      }
    }
    const system = new ActorSystem({ name: 'wf-admin', store: new MemoryStore() });
    await system.ready();
    cleanups.push(() => system.stop());
    const writer = await system.spawn(Writer);
    const engine = new DurableWorkflows({ system });
    cleanups.unshift(() => engine.stop());
    engine.define('approval', () => ({
      tasks: [
        { id: 'draft', target: writer, message: { step: 'draft', inputs: {} } },
        { id: 'approve', dependsOn: ['draft'], waitFor: 'approved' },
        { id: 'publish', dependsOn: ['approve'], target: writer, message: (i: Record<string, unknown>) => ({ step: 'publish', inputs: i }) },
      ],
    }));
    const run = await engine.start('approval', {}, { runId: 'doc-1' });
    const admin = await startAdminServer(system, { port: 0 });
    cleanups.unshift(() => admin.close());
    const http = admin.address;
    const get = async (path: string, init?: RequestInit) => {
      const res = await fetch(`http://${http}${path}`, init);
      return { status: res.status, body: (await res.json()) as any };
    };
    for (let i = 0; i < 100 && (await engine.get('doc-1')).steps.approve!.state !== 'running'; i++) await new Promise((r) => setTimeout(r, 10));

    const listed = await get('/workflows');
    expect(listed.status).toBe(200);
    expect(listed.body.runs).toMatchObject([{ runId: 'doc-1', definition: 'approval', status: 'running', active: true }]);
    const list = await apiary(['workflows', 'list', '--http', http]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^RUN\s+DEFINITION\s+STATUS/m);
    expect(list.stdout).toMatch(/^doc-1\s+approval\s+running\s+yes\s/m);

    const signalled = await apiary(['workflows', 'signal', 'doc-1', 'approved', '--payload', '{"by":"ann"}', '--http', http]);
    expect([signalled.code, signalled.stdout.trim()]).toEqual([0, 'signalled approved to doc-1']);
    expect((await run.result).tasks.publish!.value).toBe('publish({"by":"ann"})');

    const shown = await apiary(['workflows', 'show', 'doc-1', '--http', http]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^run doc-1 · approval · completed/m);
    expect(shown.stdout).toMatch(/^ {2}publish {2}completed {2}= "publish\(\{\\"by\\":\\"ann\\"\}\)"$/m);
    expect(shown.stdout).toMatch(/^signal #1 approved \{"by":"ann"\} → approve$/m);
    expect((await get('/workflows/doc-1')).body).toMatchObject({ runId: 'doc-1', status: 'completed', steps: { approve: { state: 'completed', value: { by: 'ann' } } } });

    expect(await get('/workflows/nope')).toMatchObject({ status: 404, body: { error: { code: 'ERR_WORKFLOW_NOT_FOUND' } } });
    expect(await get('/workflows/doc-1/signals/approved', { method: 'POST', body: '1' })).toMatchObject({ status: 409, body: { error: { code: 'ERR_WORKFLOW_FINISHED' } } });
    expect(await get('/workflows/doc-1/signals/approved', { method: 'POST', body: '{bad' })).toMatchObject({ status: 400, body: { error: { code: 'ERR_BAD_REQUEST' } } });
    const missing = await apiary(['workflows', 'show', 'nope', '--http', http]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/ERR_WORKFLOW_NOT_FOUND/);

    await engine.stop(); // unregisters from the system
    expect(await get('/workflows')).toMatchObject({ status: 404, body: { error: { code: 'ERR_NOT_FOUND' } } });
  });
});

describe('durable workflows on a Redis store shared by two engines (two nodes)', () => {
  it('a signal sent through one engine reaches the run the other drives; a takeover fences the old coordinator', async () => {
    const redis = await startRedisServer();
    cleanups.push(() => redis.stop());
    const [storeA, storeB] = [await openStore({ kind: 'redis', url: redis.url }), await openStore({ kind: 'redis', url: redis.url })];
    cleanups.unshift(() => storeA.close(), () => storeB.close());
    class Writer extends Actor<{ step: string }, string> {
      receive({ step }: { step: string }): string {
        return step;
      }
    }
    const system = new ActorSystem({ name: 'wf-redis' });
    cleanups.unshift(() => system.stop());
    const writer = await system.spawn(Writer);
    const engine = (journal: typeof storeA, writerName: string) => {
      const e = new DurableWorkflows({ journal, clock: system.clock, writer: writerName, signalPollMs: 50 });
      e.define('approval', () => ({
        tasks: [
          { id: 'draft', target: writer, message: { step: 'draft' } },
          { id: 'approve', dependsOn: ['draft'], waitFor: 'approved' },
        ],
      }));
      cleanups.unshift(() => e.stop());
      return e;
    };
    const a = engine(storeA, 'node-a');
    const b = engine(storeB, 'node-b');
    const waiting = async (e: DurableWorkflows, runId: string) => {
      for (let i = 0; i < 200 && (await e.get(runId)).steps.approve?.state !== 'running'; i++) await new Promise((r) => setTimeout(r, 10));
    };

    const first = await a.start('approval', {}, { runId: 'r1' });
    await waiting(a, 'r1');
    await b.signal('r1', 'approved', 'from b'); // b only writes the inbox; a reads it within signalPollMs
    expect((await first.result).tasks.approve!.value).toBe('from b');
    expect(b.handle('r1')).toBeUndefined();

    const second = await a.start('approval', {}, { runId: 'r2' });
    await waiting(a, 'r2');
    expect(await b.resume()).toBe(1); // b takes r2 over: a newer epoch
    await b.signal('r2', 'approved', 'after takeover');
    expect((await b.handle('r2')!.result).tasks.approve!.value).toBe('after takeover');
    await expect(second.result).rejects.toMatchObject({ code: 'ERR_PERSISTENCE_FENCED' }); // a saw the signal too: its write was refused
    expect((await a.list()).map((r) => [r.runId, r.status])).toEqual([
      ['r1', 'completed'],
      ['r2', 'completed'],
    ]);
  });
});
