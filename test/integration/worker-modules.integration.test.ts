/**
 * Worker modules from real apps: where an actor class lives decides whether a worker thread
 * can load it, and no spawn onto a worker ever hangs — it works, or rejects with a stable code
 * within the create timeout. Real worker threads and real child processes (`node app.mjs`,
 * `npx tsx app.ts`, `node --import tsx app.ts`), running the compiled package (dist/).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ActorSystem } from '../../dist/index.js';
import { Echo } from '../fixtures/agents.mjs';
import { Fragile as Throws } from '../fixtures/worker-modules/worker-throws.mjs';
import { Fragile as Hangs } from '../fixtures/worker-modules/worker-hangs.mjs';
import { Fragile as Exits } from '../fixtures/worker-modules/worker-exits.mjs';
import { Answerer } from '../fixtures/tsx-app/agent.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

interface Run {
  code: number | null | 'timeout';
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (killed after `ms`), from the repository root. */
function run(command: string, args: string[], ms: number, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ code: 'timeout', stdout, stderr });
    }, ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The last line of output, parsed. */
function lastJson(out: string): Record<string, unknown> {
  const lines = out.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

describe('an actor class in the entry module', () => {
  it('fails its spawn onto a worker at once with ERR_ENTRY_MODULE (it still runs on the main thread), and the app exits cleanly', async () => {
    const r = await run(process.execPath, [fixture('worker-modules/entry-app.mjs')], 20_000);
    expect(r.code, r.stderr).toBe(0);
    const out = lastJson(r.stdout);
    expect(out.worker).toMatchObject({ code: 'ERR_ENTRY_MODULE' });
    // at once: no module was loaded anywhere, nothing waited for the create timeout (3 s)
    expect(out.ms).toBeLessThan(1000);
    expect(out.main).toBe('hello main');
    expect(r.stderr).toBe('');
  });

  it('in a module that spawns it at top level with await, fails with ERR_MODULE_TIMEOUT within the create timeout, and the app exits cleanly', async () => {
    const r = await run(process.execPath, [fixture('worker-modules/self-spawner-app.mjs')], 20_000, { ...process.env, CREATE_TIMEOUT_MS: '1000' });
    expect(r.code, r.stderr).toBe(0);
    const out = lastJson(r.stdout);
    expect(out.code).toBe('ERR_MODULE_TIMEOUT');
    expect(out.ms).toBeGreaterThanOrEqual(1000);
    expect(out.ms).toBeLessThan(5000);
  });
});

describe('a module a worker cannot load', () => {
  let system: ActorSystem | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  const createTimeoutMs = 2000;

  it.each([
    ['throws while loading', 'ERR_MODULE_NOT_FOUND', Throws, 0],
    ['never finishes loading', 'ERR_MODULE_TIMEOUT', Hangs, createTimeoutMs],
    ['ends its thread while loading', 'ERR_THREAD_GONE', Exits, 0],
  ] as const)('a module that %s rejects the spawn with %s within the create timeout; the node keeps working', async (_, code, Fragile, atLeastMs) => {
    system = await ActorSystem.start({ threads: 1, createTimeoutMs });
    const t0 = performance.now();
    await expect(system.spawn(Fragile, { thread: 1 })).rejects.toMatchObject({ code });
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(atLeastMs - 5);
    expect(ms).toBeLessThan(createTimeoutMs + 3000);
    // the thread (or its replacement) serves other actors, and the same spawn fails the same way again
    for (const attempt of ['first', 'second']) {
      const echo = await system.spawn(Echo, { thread: 1 });
      expect(await echo.ask(`still here after the ${attempt} failure`)).toBe(`still here after the ${attempt} failure`);
      if (attempt === 'first') await expect(system.spawn(Fragile, { thread: 1 })).rejects.toMatchObject({ code });
    }
  });
});

describe('a worker that does not answer', () => {
  it('a worker thread that does not answer within bootTimeoutMs fails the start with ERR_WORKER_TIMEOUT instead of waiting', async () => {
    // no worker loads in 1 ms: the boot times out, the worker is terminated
    const system = new ActorSystem({ threads: 1, spareThreads: 0, bootTimeoutMs: 1 });
    try {
      await expect(system.ready()).rejects.toMatchObject({ code: 'ERR_WORKER_TIMEOUT' });
    } finally {
      await system.stop();
    }
  });

  it.each([0, -1, Number.NaN])('bootTimeoutMs and createTimeoutMs of %s are refused with ERR_INVALID_ARGUMENT naming the field', (ms) => {
    expect(() => new ActorSystem({ threads: 1, bootTimeoutMs: ms })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', field: 'bootTimeoutMs' }));
    expect(() => new ActorSystem({ threads: 1, createTimeoutMs: ms })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', field: 'createTimeoutMs' }));
  });
});

describe('a TypeScript app under tsx', () => {
  const app = fixture('tsx-app/app.ts');

  it.each([
    ['npx tsx app.ts', 'npx', ['--no', 'tsx', app]],
    ['node --import tsx app.ts', process.execPath, ['--import', 'tsx', app]],
  ])('%s: its worker agent (a .ts module) answers', async (_, command, args) => {
    const r = await run(command, args, 60_000);
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson(r.stdout)).toEqual({ text: 'plain answer to ping', thread: 1 });
  });

  it('an app that registered its loader from code names it in moduleHooks, and its .ts worker agent answers; without it no worker can load .ts', async () => {
    // this test process loads .ts itself (vitest), but node's options name no loader for workers
    const plain = await ActorSystem.start({ threads: 1, spareThreads: 0 });
    try {
      await expect(plain.spawn(Answerer, { thread: 1 })).rejects.toMatchObject({ code: 'ERR_MODULE_NOT_FOUND' });
    } finally {
      await plain.stop();
    }
    const hooked = await ActorSystem.start({
      threads: 1,
      spareThreads: 0,
      moduleHooks: [{ specifier: 'tsx/esm', parentURL: new URL('../../', import.meta.url).href, data: {} }],
    });
    try {
      const agent = await hooked.spawn(Answerer, { thread: 1 });
      expect(await agent.ask({ text: 'ping' })).toEqual({ text: 'plain answer to ping', thread: 1 });
    } finally {
      await hooked.stop();
    }
  });

  it('moduleHooks that are not { specifier, parentURL } are refused with ERR_INVALID_ARGUMENT', () => {
    expect(() => new ActorSystem({ threads: 1, moduleHooks: [{ specifier: 'tsx/esm' }] as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', field: 'moduleHooks' }),
    );
  });
});
