/**
 * Configuration as users meet it, through real `apiary` processes: a bad field from a file,
 * a flag or the environment stops `start` with exit 2 naming it; JSON, YAML, JS and TS
 * configs run; flag > env > file > default; `apiary config` masks secrets; a reload (SIGHUP
 * or an edit of the file) changes the log level and the alert rules of a running node, and a
 * reload with a bad field changes nothing.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startNode, type NodeProcess } from './processes.js';

const cli = fileURLToPath(new URL('../../dist/runtime/cli/main.js', import.meta.url));
const dist = pathToFileURL(fileURLToPath(new URL('../../dist/index.js', import.meta.url))).href;

let dir: string;
const nodes: NodeProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'apiary-config-it-'));
});
afterEach(() => {
  for (const n of nodes.splice(0)) n.dispose();
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

/** A tree with one idle actor on the main thread (starts in milliseconds). */
const TREE = `import { Actor, supervisor } from '${dist}';
class Idle extends Actor { receive() {} }
export default supervisor({ strategy: 'one-for-one', children: [{ id: 'idle', actor: Idle }] });
`;

function run(args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...nodeArgs, cli, ...args], { timeout: 30_000, cwd: dir, env: { ...cleanEnv(), ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** The environment without APIARY_* variables of whoever runs the tests. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('APIARY_')));
}

function start(args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): NodeProcess {
  const node = startNode([...nodeArgs, cli, 'start', ...args], { ...cleanEnv(), ...env });
  nodes.push(node);
  return node;
}

/** The node's structured log lines (JSON when stdout is not a terminal). */
function logLines(node: NodeProcess): { level: string; msg: string; [k: string]: unknown }[] {
  return node
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: string; msg: string });
}

async function stop(node: NodeProcess): Promise<void> {
  node.child.kill('SIGTERM');
  expect(await node.exit(15_000), node.stderr()).toBe(0);
}

describe('apiary start with a bad config', () => {
  it.each<[string, string, Record<string, unknown>, RegExp]>([
    ['threads -1', 'threads', { threads: -1 }, /threads must be an integer >= 0, got -1 \(in bad\.json\)/],
    ['threads 1.5', 'threads', { threads: 1.5 }, /threads must be an integer >= 0, got 1\.5/],
    ['heartbeatMs -5', 'heartbeatMs', { heartbeatMs: -5 }, /heartbeatMs must be a number > 0, got -5/],
    ['metricsMs 0', 'metricsMs', { metricsMs: 0 }, /metricsMs must be a number > 0, got 0/],
    ['throughput 0', 'throughput', { throughput: 0 }, /throughput must be an integer >= 1, got 0/],
    ['a seed that is not a ws:// URL', 'seeds', { seeds: ['http://127.0.0.1:7401'] }, /seeds\.0 must be a ws:\/\/HOST:PORT URL/],
    ['a log level that does not exist', 'logLevel', { logLevel: 'loud' }, /logLevel must be one of fatal, error, warn, info, debug, trace, silent, got "loud"/],
    ['a misspelt field', 'heartbeatMS', { heartbeatMS: 100 }, /heartbeatMS is not a known field \(did you mean heartbeatMs\?\)/],
  ])('%s in the file: exit 2 naming %s, nothing started', async (_, __, fields, message) => {
    write('bad.json', JSON.stringify({ http: '127.0.0.1:0', ...fields }));
    const { code, stdout, stderr } = await run(['start', '--config', 'bad.json']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^apiary: invalid config \(1 bad field\): [^\n]*\n$/);
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stdout).not.toMatch(/ready/);
  });

  it('lists every bad field of every source in one go', async () => {
    write('bad.yaml', 'threads: -1\nhttp: 127.0.0.1:0\n');
    const { code, stderr } = await run(['start', '--config', 'bad.yaml', '--heartbeat-ms', '-5'], { APIARY_METRICS_MS: '0' });
    expect(code).toBe(2);
    expect(stderr.split('\n').filter((l) => l.startsWith('  '))).toEqual([
      '  threads must be an integer >= 0, got -1 (in bad.yaml)',
      '  APIARY_METRICS_MS (metricsMs) must be a number > 0, got 0',
      '  --heartbeat-ms must be a number > 0, got -5',
    ]);
  });
});

describe('apiary start with a config file', () => {
  it("honours options.threads of a config module (one worker thread, not one per core)", async () => {
    const file = write('apiary.config.mjs', `${TREE.replace('export default', 'const tree =')}\nexport default { supervisor: tree, options: { threads: 1, http: '127.0.0.1:0', name: 'modnode' } };\n`);
    const node = start(['--config', file]);
    await node.waitFor(/ready/, 30_000);
    expect(node.stdout()).toMatch(/apiary node modnode ready · threads: 1 · ws: - · http: 127\.0\.0\.1:\d+ · config .*apiary\.config\.mjs/);
    await stop(node);
  });

  it.each([
    ['JSON', 'node.json', JSON.stringify({ name: 'jsonnode', threads: 0, http: '127.0.0.1:0', app: './tree.mjs' })],
    ['YAML', 'node.yaml', 'name: yamlnode\nthreads: 0\nhttp: 127.0.0.1:0\napp: ./tree.mjs\n'],
  ])('a %s config runs the tree its app module exports', async (_, name, text) => {
    write('tree.mjs', TREE);
    const node = start(['--config', write(name, text)]);
    await node.waitFor(/ready/, 30_000);
    const http = /http: (127\.0\.0\.1:\d+)/.exec(node.stdout())![1];
    const tree = (await (await fetch(`http://${http}/tree`)).json()) as { node: string; children: { id: string; children?: { id: string }[] }[] };
    expect(tree.node).toMatch(/^(json|yaml)node$/);
    expect(tree.children.find((c) => c.id === 'app')?.children?.map((c) => c.id)).toEqual(['idle']);
    await stop(node);
  });

  it('a .ts config needs TypeScript support: a clear exit 2 without it, and it runs under tsx', async () => {
    write('tree.mjs', TREE);
    write('package.json', '{ "type": "module" }'); // as in an ESM app: tsx compiles .ts as ESM (else as CommonJS)
    write('apiary.config.ts', `import tree from './tree.mjs';\nconst threads: number = 0;\nexport default { supervisor: tree, options: { threads, http: '127.0.0.1:0', name: 'tsnode' } };\n`);
    const plain = await run(['start', '--config', 'apiary.config.ts']);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/a \.ts config needs TypeScript support \(run apiary under tsx/);
    const node = start(['--config', join(dir, 'apiary.config.ts')], {}, ['--import', 'tsx']);
    await node.waitFor(/ready/, 30_000);
    expect(node.stdout()).toMatch(/apiary node tsnode ready · threads: 0/);
    await stop(node);
  });
});

describe('apiary config', () => {
  it('prints each value with where it came from: flag > env > file > default', async () => {
    write('apiary.config.yaml', 'name: fromfile\nthreads: 1\nlogLevel: warn\nmetricsMs: 250\n');
    const { code, stdout } = await run(['config', '--threads', '3', '--json'], { APIARY_THREADS: '2', APIARY_LOG_LEVEL: 'debug' });
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { file: string; config: Record<string, unknown>; sources: Record<string, { kind: string; from: string }> };
    expect(report.config).toMatchObject({ name: 'fromfile', threads: 3, logLevel: 'debug', metricsMs: 250, heartbeatMs: 500 });
    expect(report.sources.threads).toEqual({ kind: 'flag', from: '--threads' });
    expect(report.sources.logLevel).toEqual({ kind: 'env', from: 'APIARY_LOG_LEVEL' });
    expect(report.sources.name).toMatchObject({ kind: 'file' });
    expect(report.sources.heartbeatMs).toEqual({ kind: 'default', from: 'default' });
    const text = await run(['config', '--threads', '3'], { APIARY_THREADS: '2' });
    expect(text.stdout).toMatch(/^threads\s+3\s+flag --threads$/m);
    expect(text.stdout).toMatch(/^metricsMs\s+250\s+file apiary\.config\.yaml$/m);
    expect(text.stdout).toMatch(/^heartbeatMs\s+500\s+default$/m);
  });

  it('masks the cluster secret and the admin token', async () => {
    write('token', 'admin-token-from-file\n');
    const text = await run(['config', '--admin-token-file', 'token'], { APIARY_SECRET: 'cluster-secret-value' });
    const json = await run(['config', '--json'], { APIARY_SECRET: 'cluster-secret-value', APIARY_ADMIN_TOKEN: 'admin-token-from-env' });
    expect([text.code, json.code]).toEqual([0, 0]);
    for (const out of [text.stdout, json.stdout]) expect(out).not.toMatch(/cluster-secret-value|admin-token-from/);
    expect(text.stdout).toMatch(/^secret\s+\*{8}\s+env APIARY_SECRET$/m);
    expect(text.stdout).toMatch(/^adminToken\s+\*{8}\s+flag --admin-token-file$/m);
    expect(JSON.parse(json.stdout).config).toMatchObject({ secret: '********', adminToken: '********' });
  });

  it('exits 2 naming each bad field', async () => {
    write('apiary.config.json', JSON.stringify({ threads: 1.5 }));
    const { code, stderr } = await run(['config', '--throughput', '0']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/threads must be an integer >= 0, got 1\.5/);
    expect(stderr).toMatch(/--throughput must be an integer >= 1, got 0/);
  });
});

describe('config reload of a running node', () => {
  const rule = (name: string, op: string) => `{ name: ${name}, metric: actorsRunning, op: "${op}", threshold: 0, severity: info }`;
  const yaml = (o: { level: string; rules: string; threads?: number; extra?: string; watch?: boolean }) =>
    `name: reloader\nthreads: ${o.threads ?? 0}\nhttp: 127.0.0.1:0\nmetricsMs: 200\nlogLevel: ${o.level}\napp: ./tree.mjs\n` +
    `${o.watch === false ? 'watchConfig: false\n' : ''}alerts:\n  rules: [${o.rules}]\n${o.extra ?? ''}`;
  const debugLines = (node: NodeProcess) => logLines(node).filter((l) => l.level === 'debug');

  it('SIGHUP applies a new log level and alert rule without a restart, and reports what needs one', async () => {
    write('tree.mjs', TREE);
    const file = write('node.yaml', yaml({ level: 'info', rules: rule('Never', '<'), watch: false }));
    const node = start(['--config', file]);
    await node.waitFor(/ready/, 30_000);
    const pid = node.child.pid;
    write('node.yaml', yaml({ level: 'debug', rules: `${rule('Never', '<')}, ${rule('Always', '>=')}`, threads: 1, watch: false }));
    node.child.kill('SIGHUP');
    await node.waitFor(/"msg":"config reloaded: logLevel, alerts\.rules"/, 10_000);
    await node.waitFor(/"event":"alert-firing","rule":"Always"/, 10_000);
    expect(logLines(node).find((l) => l.msg === 'config reloaded: logLevel, alerts.rules')).toMatchObject({ trigger: 'signal', needsRestart: ['threads'] });
    expect(node.stdout()).toMatch(/"msg":"config changed, needs a restart \(not applied\): threads"/);
    expect(debugLines(node)).toEqual([]);
    node.child.kill('SIGHUP'); // at debug level now: the next reload request is logged
    await node.waitFor(/"level":"debug",.*"msg":"config reload requested"/, 10_000);
    expect(node.child.pid).toBe(pid);
    expect(node.stdout()).not.toMatch(/"rule":"Never"/);
    await stop(node);
  });

  it('an edit of the config file applies a new log level and alert rule', async () => {
    write('tree.mjs', TREE);
    const file = write('node.yaml', yaml({ level: 'info', rules: rule('Never', '<') }));
    const node = start(['--config', file]);
    await node.waitFor(/ready/, 30_000);
    write('node.yaml', yaml({ level: 'debug', rules: rule('Always', '>=') }));
    await node.waitFor(/"msg":"config reloaded: logLevel, alerts\.rules"/, 10_000);
    await node.waitFor(/"event":"alert-firing","rule":"Always"/, 10_000);
    expect(logLines(node).find((l) => l.msg === 'config reloaded: logLevel, alerts.rules')).toMatchObject({ trigger: 'watch' });
    write('node.yaml', yaml({ level: 'debug', rules: rule('Always', '>='), extra: '# touched\n' }));
    await node.waitFor(/"level":"debug",.*"trigger":"watch".*"msg":"config reload requested"/, 10_000);
    await stop(node);
  });

  it('a reload with a bad field changes nothing and logs why', async () => {
    write('tree.mjs', TREE);
    const file = write('node.yaml', yaml({ level: 'info', rules: rule('Never', '<'), watch: false }));
    const node = start(['--config', file]);
    await node.waitFor(/ready/, 30_000);
    write('node.yaml', yaml({ level: 'debug', rules: rule('Always', '>='), watch: false, extra: 'heartbeatMs: -5\n' }));
    node.child.kill('SIGHUP');
    await node.waitFor(/"msg":"config reload refused, nothing changed: heartbeatMs must be a number > 0, got -5 \(in \S*node\.yaml\)"/, 10_000);
    node.child.kill('SIGHUP'); // still info: this request is not logged at debug
    await node.waitFor(/refused[\s\S]*refused/, 10_000);
    await new Promise((r) => setTimeout(r, 1000)); // five metrics periods: an applied Always rule would fire
    expect(debugLines(node)).toEqual([]);
    expect(node.stdout()).not.toMatch(/FIRING info Always|config reloaded/);
    expect(logLines(node).filter((l) => l.level === 'error')).toHaveLength(2);
    await stop(node);
  });
});
