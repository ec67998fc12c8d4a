/**
 * An app's `setup` under `apiary start` (runtime/node/app-setup.ts), as a child process: it
 * reaches the node's task queue and system, its teardown runs at stop, and a failing setup
 * stops the node with one line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from './cluster-driver.js';
import { freePort, startNode, type NodeProcess } from './processes.js';

const cli = fileURLToPath(new URL('../../dist/runtime/cli/main.js', import.meta.url));
const config = fileURLToPath(new URL('../fixtures/setup-config.mjs', import.meta.url));
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

function node(env: NodeJS.ProcessEnv = {}): { proc: NodeProcess; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'apiary-setup-'));
  const proc = startNode([cli, 'start', '--name', 'hooked', '--config', config, '--threads', '0', '--http', '127.0.0.1:0', '--store', `lmdb:${dir}`], { ...process.env, ...env });
  cleanup.push(() => {
    proc.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  return { proc, dir };
}


describe("an app's setup", () => {
  it('consumes the node task queue and drives a durable workflow the admin API lists; its teardown runs at SIGTERM', async () => {
    const { proc } = node();
    await proc.waitFor(/ready ·/, 20_000);
    expect(proc.stdout()).toMatch(/setup done/);
    const http = `http://${/http: (\S+) ·/.exec(proc.stdout())![1]}`;
    const res = await fetch(`${http}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ queue: 'greetings', payload: { name: 'ada' } }) });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const done = await until(
      async () => (await (await fetch(`${http}/tasks/${id}`)).json()) as { state: string; result?: unknown },
      (t) => t.state === 'done',
      10_000,
      'the task done',
      50,
    );
    expect(done.result).toEqual({ hello: 'ada' });
    const runs = (await (await fetch(`${http}/workflows`)).json()) as { runs: { runId: string; status: string }[] };
    expect(runs.runs).toEqual([expect.objectContaining({ runId: 'w1', status: 'running' })]);
    const signal = await fetch(`${http}/workflows/w1/signals/approved`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ by: 'grace' }) });
    expect(signal.status).toBeLessThan(300);
    const finished = await until(
      async () => (await (await fetch(`${http}/workflows/w1`)).json()) as { status: string; steps: Record<string, { value?: unknown }> },
      (run) => run.status === 'completed',
      10_000,
      'the run completed',
      50,
    );
    expect(finished.steps.wait!.value).toEqual({ by: 'grace' });
    proc.child.kill('SIGTERM');
    expect(await proc.exit(15_000)).toBe(0);
    expect(proc.stdout()).toMatch(/^teardown$/m);
  });

  it('that throws stops the node: exit 1, one line naming the failure', async () => {
    const { proc } = node({ APIARY_TEST_SETUP_FAIL: '1' });
    expect(await proc.exit(20_000)).toBe(1);
    expect(proc.stderr().trim()).toMatch(/^apiary: the app's setup failed: no credentials for the mail server$/m);
    expect(proc.stdout()).not.toMatch(/ready ·/);
  });

  it('a stop signal while the node is still starting (its setup spawning) stops it cleanly: exit 0, nothing on stderr', async () => {
    const slow = fileURLToPath(new URL('../fixtures/slow-start-config.mjs', import.meta.url));
    const port = await freePort();
    const proc = startNode([cli, 'start', '--name', 'slow', '--config', slow, '--threads', '0', '--http', `127.0.0.1:${port}`]);
    cleanup.push(() => proc.dispose());
    // the admin server answers before the setup has run (the ready line comes after it)
    await until(async () => (await fetch(`http://127.0.0.1:${port}/health/live`).catch(() => undefined))?.ok === true, (ok) => ok, 15_000, 'the admin server answering', 50);
    expect(proc.stdout()).not.toMatch(/ready ·/);
    proc.child.kill('SIGTERM');
    expect(await proc.exit(15_000)).toBe(0);
    expect(proc.stderr()).toBe('');
  });
});

