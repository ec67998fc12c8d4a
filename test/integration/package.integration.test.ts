/**
 * SLOW, MULTI-PROCESS TEST (about 30–60 s on 2 cores): the package as a user gets it.
 *
 * Packs a copy of the project without dist/ (as a fresh clone: `prepack` must build), installs
 * the tarball into a new temporary app without the network (`npm ci --offline` against a
 * lockfile made from ours, so every tarball comes from the npm cache that `npm ci` filled;
 * if that fails, `npm install --prefer-offline`), then runs what a user runs: the installed
 * `apiary` bin through its node_modules/.bin symlink and through npx, the demo node on
 * 127.0.0.1, the bench (no peers installed there), and a strict TypeScript consumer compiled
 * against the installed types with the repository's own tsc.
 *
 * Real child processes, 127.0.0.1 only; every child is killed and the temp folder removed.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './processes.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** What a user's shell would give npm: no npm_* variables of the `npm test` we may run under (they would point npm at this repository). */
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD'),
);
env.PATH = `${dirname(process.execPath)}${process.platform === 'win32' ? ';' : ':'}${env.PATH ?? ''}`;
env.npm_config_update_notifier = 'false';
env.npm_config_fund = 'false';
env.npm_config_audit = 'false';

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (bounded by `timeout`), never throwing: the test asserts on the result. */
function run(file: string, args: string[], cwd: string, timeout = 60_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env, timeout, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The tarball's lockfile entry plus the production part of ours: `npm ci` needs no registry metadata then. */
function appLockfile(tarball: string, tgzName: string): object {
  const ours = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, unknown>> };
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
  const packages: Record<string, unknown> = {};
  for (const [path, entry] of Object.entries(ours.packages)) {
    if (path === '' || entry.dev === true) continue;
    const { devOptional: _, ...rest } = entry;
    packages[path] = rest;
  }
  const spec = `file:../${tgzName}`;
  packages['node_modules/apiary-runtime'] = {
    version: pkg.version,
    resolved: spec,
    integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
    license: pkg.license,
    dependencies: pkg.dependencies,
    bin: pkg.bin,
    engines: pkg.engines,
  };
  return { name: 'consumer-app', lockfileVersion: 3, requires: true, packages: { '': { name: 'consumer-app', dependencies: { 'apiary-runtime': spec } }, ...packages } };
}

let tmp: string;
let app: string;
let bin: string;
let installed: string;
let packed: { files: { path: string }[] };
const children: ChildProcess[] = [];

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'apiary-package-'));
  // 1. a fresh clone: the sources without dist/, results or VCS data; our node_modules for the build tools
  const src = join(tmp, 'src');
  const skip = new Set(['node_modules', 'dist', '.git', 'coverage']);
  cpSync(root, src, {
    recursive: true,
    filter: (from) => {
      const rel = relative(root, from);
      if (rel === '') return true;
      const top = rel.split(sep)[0]!;
      return !skip.has(top) && !rel.endsWith('.tgz') && rel !== 'apiary-bench-results.json' && rel !== join('bench', 'results');
    },
  });
  symlinkSync(join(root, 'node_modules'), join(src, 'node_modules'), 'dir');
  // 2. npm pack runs prepack (clean + build)
  const pack = await run('npm', ['pack', '--json', '--pack-destination', tmp], src, 120_000);
  if (pack.code !== 0) throw new Error(`npm pack failed (${pack.code}):\n${pack.stderr}`);
  const info = (JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[])[0]!;
  packed = info;
  const tarball = join(tmp, info.filename);
  // 3. a new app that depends on the tarball, installed offline
  app = join(tmp, 'app');
  mkdirSync(app);
  const manifest = { name: 'consumer-app', private: true, type: 'module', dependencies: { 'apiary-runtime': `file:../${info.filename}` } };
  writeFileSync(join(app, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(app, 'package-lock.json'), `${JSON.stringify(appLockfile(tarball, info.filename), null, 2)}\n`);
  let install = await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], app, 120_000);
  if (install.code !== 0) {
    process.stderr.write(`package test: npm ci --offline failed, trying npm install --prefer-offline:\n${install.stderr}\n`);
    rmSync(join(app, 'package-lock.json'), { force: true });
    rmSync(join(app, 'node_modules'), { recursive: true, force: true });
    install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], app, 120_000);
  }
  if (install.code !== 0) throw new Error(`installing the tarball failed (${install.code}):\n${install.stderr}`);
  bin = join(app, 'node_modules', '.bin', process.platform === 'win32' ? 'apiary.cmd' : 'apiary');
  installed = join(app, 'node_modules', 'apiary-runtime');
}, 240_000);

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds the build, the bin, LICENSE, CHANGELOG and the Prometheus rules, and no tests, results, sources or source maps', () => {
    const files = packed.files.map((f) => f.path.split(sep).join('/'));
    for (const f of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'bin/apiary.js', 'dist/index.js', 'dist/index.d.ts', 'dist/internals.js', 'dist/runtime/cli/main.js', 'dist/examples/demo-swarm.js', 'dist/bench/run.js', 'dist/runtime/observability/prometheus-rules.yml']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => /(^|\/)test\/|\.test\.|results|\.tgz$/.test(f))).toEqual([]);
    expect(files.filter((f) => !/^(dist|bin)\//.test(f)).sort()).toEqual(['CHANGELOG.md', 'LICENSE', 'README.md', 'package.json']);
  });

  it('is installed with its bin linked, and the rules file resolves from the exports map', () => {
    expect(existsSync(bin)).toBe(true);
    expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    expect(readFileSync(join(installed, 'dist/runtime/observability/prometheus-rules.yml'), 'utf8')).toMatch(/groups:/);
  });
});

describe('the installed apiary command', () => {
  it('apiary --help prints the usage with every verb and exits 0', async () => {
    const r = await run(bin, ['--help'], app);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^usage: apiary <command>/);
    for (const verb of ['start', 'tree', 'kill', 'status', 'bench', 'config', 'doctor']) expect(r.stdout).toMatch(new RegExp(`^  ${verb} `, 'm'));
    expect(r.stderr).toBe('');
  });

  it('apiary doctor in the app checks what start needs and passes (exit 0), the installed Node version among the checks', async () => {
    const port = await freePort();
    const r = await run(bin, ['doctor', '--http', `127.0.0.1:${port}`, '--json'], app);
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; checks: { id: string; status: string }[] };
    expect(report.ok).toBe(true);
    expect(report.checks.find((c) => c.id === 'node')?.status).toBe('pass');
    expect(report.checks.some((c) => c.status === 'fail')).toBe(false);
  });

  it('npx apiary runs the same command (apiary bench --help: its own usage, exit 0)', async () => {
    const r = await run('npx', ['--offline', 'apiary', 'bench', '--help'], app);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^usage: apiary bench /);
  });

  it('apiary nosuchverb exits 2 with one line on stderr and nothing on stdout', async () => {
    const r = await run(bin, ['nosuchverb'], app);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^apiary: unknown command 'nosuchverb'.*\n$/);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('apiary start --http 127.0.0.1:PORT in the app runs the demo, answers GET /health, and SIGTERM ends it with exit code 0', async () => {
    const port = await freePort();
    const child = spawn(bin, ['start', '--threads', '1', '--http', `127.0.0.1:${port}`], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let health: { status: number; body: { status?: string } } | undefined;
    const deadline = performance.now() + 30_000;
    while (health === undefined && performance.now() < deadline && child.exitCode === null) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
        health = { status: res.status, body: (await res.json()) as { status?: string } };
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(health, out).toBeDefined();
    expect(health!.status).toBe(200);
    expect(['healthy', 'degraded', 'critical']).toContain(health!.body.status);
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000))]);
    expect(code, out).toBe(0);
  });

  it('apiary bench codec in-thread-ping-pong --quick --json prints §4 rows, notes the peers that are not installed, and writes the rows to the working directory', async () => {
    const r = await run(bin, ['bench', 'codec', 'in-thread-ping-pong', '--quick', '--json'], app);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(Object.keys(row).every((k) => ['scenario', 'system', 'metric', 'value', 'unit', 'variant'].includes(k)), JSON.stringify(row)).toBe(true);
      expect(['codec', 'in-thread-ping-pong']).toContain(row.scenario);
      expect(['apiary', 'raw']).toContain(row.system); // nact and comedy are devDependencies: not in the app
      expect(typeof row.metric).toBe('string');
      expect(typeof row.unit).toBe('string');
      expect(Number.isFinite(row.value) && (row.value as number) > 0).toBe(true);
    }
    expect(new Set(rows.map((row) => `${row.scenario}/${row.system}`))).toEqual(
      new Set(['codec/raw', 'codec/apiary', 'in-thread-ping-pong/raw', 'in-thread-ping-pong/apiary']),
    );
    expect(r.stderr).toMatch(/in-thread-ping-pong \/ nact: not installed/);
    expect(r.stderr).toMatch(/in-thread-ping-pong \/ comedy: not installed/);
    expect(JSON.parse(readFileSync(join(app, 'apiary-bench-results.json'), 'utf8'))).toEqual(rows);
    expect(existsSync(join(installed, 'bench'))).toBe(false);
    expect(existsSync(join(installed, 'dist', 'bench', 'results'))).toBe(false);
  });
});

describe('a strict TypeScript consumer', () => {
  it('compiles against the installed types (strict, NodeNext), cannot reach internals from the root or deep paths, and runs', async () => {
    const tsconfig = {
      compilerOptions: {
        strict: true,
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        lib: ['ES2022'],
        types: ['node'],
        typeRoots: [join(root, 'node_modules', '@types')],
        skipLibCheck: true,
        outDir: 'out',
      },
      files: ['consumer.ts', 'sealed.ts'],
    };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    writeFileSync(
      join(app, 'consumer.ts'),
      `import { Actor, ActorSystem, ApiaryError, ErrorCodes, supervisor, exponentialRetry, CircuitBreaker, type ActorRef, type ExitReason, type SupervisorSpec, type TreeSnapshot } from 'apiary-runtime';
import { recordRestart } from 'apiary-runtime/internals';

type Msg = { type: 'add'; n: number } | { type: 'crash' };

class Counter extends Actor<Msg, number> {
  private count = 0;
  receive(msg: Msg): number {
    if (msg.type === 'crash') throw new Error('crashed');
    this.count += msg.n;
    return this.count;
  }
}

const spec: SupervisorSpec = supervisor({ strategy: 'one-for-one', intensity: 3, children: [{ id: 'counter', actor: Counter }] });
const system = new ActorSystem();
await system.spawn(spec, { name: 'app' });
const counter: ActorRef<Msg, number> | undefined = system.at<Msg, number>('/app/counter');
if (counter === undefined) throw new Error('no counter');
const five: number = await counter.ask({ type: 'add', n: 5 });
const code: string = await counter.ask({ type: 'crash' }).then(
  () => 'no error',
  (err: unknown) => (err instanceof ApiaryError ? err.code : 'not an ApiaryError'),
);
const tree: TreeSnapshot = system.tree();
const reason: ExitReason = 'normal';
const breaker = new CircuitBreaker({ clock: system.clock, failureThreshold: 2 });
const retry = exponentialRetry(10, 2, { maxAttempts: 3 });
await system.stop();
console.log(five, code === ErrorCodes.ACTOR_FAILED, tree.children.length, reason, typeof breaker.call, retry.maxAttempts, typeof recordRestart);
`,
    );
    writeFileSync(
      join(app, 'sealed.ts'),
      `// Compiled, never run: each line must fail to compile (an unused @ts-expect-error fails the build).
// @ts-expect-error hash32 is internal: not exported from the package root
import { hash32 } from 'apiary-runtime';
// @ts-expect-error deep imports are not in the exports map
import { Supervisor } from 'apiary-runtime/dist/supervisor/supervisor.js';
export const sealed = [hash32, Supervisor];
`,
    );
    const tsc = await run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], app);
    expect(tsc.code, `${tsc.stdout}${tsc.stderr}`).toBe(0);
    const ran = await run(process.execPath, ['out/consumer.js'], app, 20_000);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout.trim()).toBe('5 true 1 normal function 3 function');
  });
});
