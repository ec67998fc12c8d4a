/**
 * Resolving a node's config: flag > environment > file > default, each value's source, the
 * file formats (JSON, YAML, JS module), discovery, secrets, the app module, and every bad
 * field reported at once with where it came from.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../runtime/config/config-error.js';
import { configReport, renderConfig } from '../../../runtime/config/render.js';
import { resolveConfig, type ResolveInputs } from '../../../runtime/config/resolve.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'apiary-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string): string => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const resolve = (argv: string[] = [], env: Record<string, string> = {}, more: Partial<ResolveInputs> = {}) => resolveConfig({ argv, env, cwd: dir, ...more });
async function issuesOf(p: Promise<unknown>): Promise<ConfigError['issues']> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  expect(err).toMatchObject({ code: 'ERR_INVALID_CONFIG' });
  return (err as ConfigError).issues;
}

describe('precedence', () => {
  it.each<[string, string[], Record<string, string>, boolean, number, string]>([
    ['a flag wins over the environment and the file', ['--threads', '3'], { APIARY_THREADS: '2' }, true, 3, 'flag --threads'],
    ['the environment wins over the file', [], { APIARY_THREADS: '2' }, true, 2, 'env APIARY_THREADS'],
    ['the file wins over the default', [], {}, true, 1, 'file'],
    ['the default applies when nothing gives a value', [], {}, false, availableParallelism(), 'default'],
  ])('%s', async (_, argv, env, withFile, threads, source) => {
    if (withFile) write('apiary.config.json', JSON.stringify({ threads: 1 }));
    const r = await resolve(argv, env);
    expect(r.config.threads).toBe(threads);
    const s = r.sources.threads!;
    expect(`${s.kind}${s.kind === 'flag' || s.kind === 'env' ? ` ${s.from}` : ''}`).toBe(source);
  });

  it('merges objects field by field: an env variable changes one demo field, the file keeps the other', async () => {
    write('apiary.config.yaml', 'demo:\n  apiErrorRate: 0.5\n  faultRate: 0.3\n');
    const r = await resolve([], { APIARY_DEMO_FAULT_RATE: '0' });
    expect(r.config.demo).toEqual({ apiErrorRate: 0.5, faultRate: 0 });
    expect(r.sources['demo.faultRate']).toEqual({ kind: 'env', from: 'APIARY_DEMO_FAULT_RATE' });
    expect(r.sources['demo.apiErrorRate']).toMatchObject({ kind: 'file' });
  });

  it('keeps the defaults of an object the file gives in part (alert channels stay when only rules are given)', async () => {
    write('apiary.config.yaml', 'alerts:\n  rules:\n    - { name: Busy, metric: mailboxDepth, op: ">", threshold: 10, severity: info }\nhealth:\n  degradedLagMs: 50\n');
    const r = await resolve();
    expect(r.config.alerts.rules.map((x) => x.name)).toEqual(['Busy']);
    expect(r.config.alerts.channels).toEqual([{ type: 'console' }]);
    expect(r.config.health).toMatchObject({ degradedLagMs: 50, criticalLagMs: 1000 });
    expect(r.sources['alerts.channels']!.kind).toBe('default');
    expect(r.sources['health.criticalLagMs']!.kind).toBe('default');
  });

  it('turns an empty environment variable into no value', async () => {
    const r = await resolve([], { APIARY_THREADS: '', APIARY_LOG_LEVEL: '' });
    expect(r.sources.threads!.kind).toBe('default');
    expect(r.config.logLevel).toBe('info');
  });
});

describe('config files', () => {
  it.each([
    ['apiary.config.json', JSON.stringify({ threads: 1, logLevel: 'debug', rateLimits: { 'summary-api': { tokens: 1 } } })],
    ['apiary.config.yaml', 'threads: 1\nlogLevel: debug\nrateLimits:\n  summary-api: { tokens: 1 }\n'],
    ['apiary.config.yml', 'threads: 1\nlogLevel: debug\nrateLimits:\n  summary-api:\n    tokens: 1\n'],
    ['apiary.config.mjs', "export default { options: { threads: 1, logLevel: 'debug', rateLimits: { 'summary-api': { tokens: 1 } } } };"],
    ['apiary.config.js', "export const options = { threads: 1, logLevel: 'debug', rateLimits: { 'summary-api': { tokens: 1 } } };"],
  ])('%s is found in the working directory and read', async (name, text) => {
    const file = write(name, text);
    const r = await resolve();
    expect(r.file).toBe(file);
    expect(r.config).toMatchObject({ threads: 1, logLevel: 'debug', rateLimits: { 'summary-api': { tokens: 1 } } });
    expect(r.sources.threads).toEqual({ kind: 'file', from: file });
  });

  it("honours a config module's options.threads and its supervisor", async () => {
    write('apiary.config.mjs', "export default { supervisor: { kind: 'supervisor', strategy: 'one-for-one', children: [] }, options: { threads: 1 } };");
    const r = await resolve();
    expect(r.config.threads).toBe(1);
    expect(r.supervisor).toMatchObject({ kind: 'supervisor' });
    expect(r.config.name).toBe('apiary'); // an app's default name; the demo's is `demo`
  });

  it('loads the tree of a JSON/YAML config from the module named by app (relative to the file)', async () => {
    mkdirSync(join(dir, 'conf'));
    write('conf/tree.mjs', "export default { kind: 'supervisor', strategy: 'one-for-one', children: [] };");
    write('conf/node.yaml', 'app: ./tree.mjs\n');
    const r = await resolve(['--config', 'conf/node.yaml']);
    expect(r.supervisor).toMatchObject({ kind: 'supervisor' });
    expect((await resolve(['--config', 'conf/node.yaml'], {}, { loadApp: false })).supervisor).toBeUndefined();
  });

  it("takes the app's setup from the config module, or from the module named by app (named or in its default export)", async () => {
    write('with-setup.mjs', "export const options = { threads: 0 }; export function setup() { return 'from config'; }");
    expect((await resolve(['--config', 'with-setup.mjs'])).setup?.({} as never)).toBe('from config');
    mkdirSync(join(dir, 'conf'));
    write('conf/tree.mjs', "export default { supervisor: { kind: 'supervisor', strategy: 'one-for-one', children: [] }, setup: () => 'from app' };");
    write('conf/node.yaml', 'app: ./tree.mjs\n');
    expect((await resolve(['--config', 'conf/node.yaml'])).setup?.({} as never)).toBe('from app');
    write('conf/bad-tree.mjs', "export default { kind: 'supervisor', strategy: 'one-for-one', children: [] }; export const setup = 7;");
    write('conf/bad.yaml', 'app: ./bad-tree.mjs\n');
    const issues = await issuesOf(resolve(['--config', 'conf/bad.yaml']));
    expect(issues.map((i) => i.field)).toEqual(['app']);
    expect(issues[0]!.message).toMatch(/`setup` export is a function/);
    expect((await resolve(['--config', 'conf/node.yaml'], {}, { loadApp: false })).setup).toBeUndefined();
  });

  it.each<[string, string, string, string, RegExp]>([
    ['an app module that does not exist', 'node.yaml', 'app: ./nowhere.mjs\n', 'app', /an existing module/],
    ['an app module without a supervisor spec', 'node.yaml', 'app: ./tree.mjs\n', 'app', /default \(or `supervisor`\) export is supervisor/],
    ['a file that is not JSON', 'node.json', '{ threads: 1 ', 'config', /node\.json is not valid JSON/],
    ['a file that is not YAML', 'node.yaml', 'threads: [\n', 'config', /node\.yaml is not valid YAML/],
    ['a file of an unknown kind', 'node.toml', 'threads = 1', 'config', /a \.js, \.mjs, \.ts/],
    ['a module exporting fields beside supervisor and options', 'node.mjs', 'export default { threads: 1 };', 'threads', /not a known export/],
    ['a module whose supervisor is not a spec', 'node.mjs', 'export default { supervisor: 42 };', 'supervisor', /supervisor\(\{\.\.\.\}\)/],
    ['a module whose setup is not a function', 'node.mjs', "export const setup = 'later';", 'setup', /a function \(node\)/],
  ])('rejects %s', async (_, name, text, field, message) => {
    write(name, text);
    write('tree.mjs', 'export const notATree = 1;');
    const issues = await issuesOf(resolve(['--config', name]));
    expect(issues.map((i) => i.field)).toEqual([field]);
    expect(issues[0]!.message).toMatch(message);
  });

  it('names the file by APIARY_CONFIG when no --config is given, and --config wins over it', async () => {
    write('a.json', '{"threads": 1}');
    write('b.json', '{"threads": 2}');
    expect((await resolve([], { APIARY_CONFIG: 'a.json' })).config.threads).toBe(1);
    expect((await resolve(['--config', 'b.json'], { APIARY_CONFIG: 'a.json' })).config.threads).toBe(2);
  });

  it('refuses to guess between two apiary.config.* files, and a --config that does not exist', async () => {
    write('apiary.config.json', '{}');
    write('apiary.config.yaml', '{}');
    expect((await issuesOf(resolve()))[0]!.message).toMatch(/one apiary\.config\.\* file here/);
    const missing = await issuesOf(resolve(['--config', 'missing.yaml']));
    expect(missing[0]).toMatchObject({ field: 'config', source: { kind: 'flag', from: '--config' } });
  });
});

describe('bad fields', () => {
  it('lists every bad field from every source, each as its source spells it', async () => {
    write('apiary.config.json', JSON.stringify({ threads: -1, heartbeatMs: -5 }));
    const issues = await issuesOf(resolve(['--metrics-ms', '0', '--threads', '2'], { APIARY_THROUGHPUT: '0', APIARY_LOG_LEVEL: 'loud' }));
    expect(issues.map((i) => i.message)).toEqual([
      'threads must be an integer >= 0, got -1 (in apiary.config.json)', // reported although --threads overrides it
      'heartbeatMs must be a number > 0, got -5 (in apiary.config.json)',
      'APIARY_THROUGHPUT (throughput) must be an integer >= 1, got 0',
      'APIARY_LOG_LEVEL (logLevel) must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
      '--metrics-ms must be a number > 0, got 0',
    ]);
    expect(issues.map((i) => i.field)).toEqual(['threads', 'heartbeatMs', 'throughput', 'logLevel', 'metricsMs']);
  });

  it.each<[string[], string, RegExp]>([
    [['--frobnicate'], '--frobnicate', /not a flag of apiary start/],
    [['--threads'], 'threads', /--threads must be followed by a value/],
    [['now'], 'now', /not an argument apiary start takes/],
    [['--threads', '-1'], 'threads', /--threads must be an integer >= 0, got -1/],
    [['--threads', 'many'], 'threads', /--threads must be an integer >= 0, got "many"/],
    [['--seeds', 'ws://127.0.0.1:7401,127.0.0.1:7402'], 'seeds.1', /a ws:\/\/HOST:PORT URL/],
  ])('rejects the command line %j', async (argv, field, message) => {
    const issues = await issuesOf(resolve(argv));
    expect(issues[0]!.field).toBe(field);
    expect(issues[0]!.message).toMatch(message);
  });
});

describe('secrets', () => {
  it('reads the secret file named by a flag over APIARY_SECRET, and never shows either', async () => {
    write('secret.txt', 'from-the-file\n');
    const r = await resolve(['--secret-file', 'secret.txt'], { APIARY_SECRET: 'from-the-env', APIARY_ADMIN_TOKEN: 'admin-token-value' });
    expect(r.config.secret).toBe('from-the-file');
    expect(r.sources.secret).toEqual({ kind: 'flag', from: '--secret-file' });
    expect(r.config.adminToken).toBe('admin-token-value');
    const printed = `${renderConfig(r, dir)}\n${JSON.stringify(configReport(r))}`;
    expect(printed).not.toMatch(/from-the-file|from-the-env|admin-token-value/);
    expect(printed).toMatch(/secret\s+\*{8}\s+flag --secret-file/);
  });

  it('reads paths in a config file relative to its folder', async () => {
    mkdirSync(join(dir, 'conf'));
    write('conf/secret', 'in-conf');
    write('conf/node.yaml', 'secretFile: ./secret\n');
    expect((await resolve(['--config', 'conf/node.yaml'])).config.secret).toBe('in-conf');
  });

  it.each<[string, string, string, RegExp]>([
    ['an empty secret file', 'secretFile: empty.txt\n', 'secretFile', /a file that is not empty/],
    ['a secret file that does not exist', 'secretFile: nowhere.txt\n', 'secretFile', /a readable file \(ENOENT\)/],
    ['a secret and a secret file in one source', 'secret: abc\nsecretFile: empty.txt\n', 'secretFile', /not allowed together with secret/],
    ['a TLS certificate without its key', 'tlsCert: empty.txt\n', 'tlsKey', /given with tlsCert/],
  ])('rejects %s', async (_, yaml, field, message) => {
    write('empty.txt', '');
    write('apiary.config.yaml', yaml);
    const issues = await issuesOf(resolve());
    expect(issues.map((i) => i.field)).toEqual([field]);
    expect(issues[0]!.message).toMatch(message);
  });

  it('shows only the origin of a webhook URL (chat webhooks carry their key in the path)', async () => {
    write('apiary.config.yaml', 'alerts:\n  channels: [{ type: webhook, url: "https://hooks.example.com/T0/B0/KEY" }]\n');
    const r = await resolve();
    const printed = `${renderConfig(r, dir)}\n${JSON.stringify(configReport(r))}`;
    expect(printed).toContain('https://hooks.example.com/…');
    expect(printed).not.toContain('KEY');
  });
});
