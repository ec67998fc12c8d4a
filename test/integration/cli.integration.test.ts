/**
 * The `apiary` command as users run it: `start` brings up the demo swarm and stops in order
 * on SIGTERM; every verb answers --help with its own usage; bad usage (an unknown verb or
 * flag, a bad value) is one line on stderr and exit code 2.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startNode } from './processes.js';
import { logLines, waitForLine } from './log-lines.js';

const cli = fileURLToPath(new URL('../../dist/runtime/cli/main.js', import.meta.url));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('apiary CLI', () => {
  it('start runs the demo swarm, logs one ready line, and SIGTERM stops it with exit code 0', async () => {
    const node = startNode([cli, 'start', '--threads', '2', '--http', '127.0.0.1:0']);
    try {
      // (a report can be skipped when an agent of the pipeline fails on it: faults are random)
      await waitForLine(node, (l) => l.component === 'reports' && /^report #\d+: 500 rows/.test(l.msg), 30_000);
      // stdout is not a TTY: JSON lines
      const ready = logLines(node.stdout()).filter((l) => /^apiary node demo ready/.test(l.msg));
      expect(ready.map((l) => l.msg)).toEqual([expect.stringMatching(/^apiary node demo ready · threads: 2 · ws: - · http: 127\.0\.0\.1:\d+ · demo swarm$/)]);
      node.child.kill('SIGTERM');
      expect(await node.exit(15_000), node.stderr()).toBe(0);
      expect(logLines(node.stdout()).at(-1)?.msg, node.stdout()).toBe('apiary node demo stopped');
      expect(node.stderr()).toBe('');
    } finally {
      node.dispose();
    }
  });

  it.each([
    [['frobnicate'], /unknown command 'frobnicate'/],
    [[], /no command given/],
    [['--frobnicate'], /unknown option '--frobnicate'/],
    [['start', '--threads', 'many'], /--threads must be an integer/],
    [['start', '--http', 'nowhere'], /--http must be HOST:PORT/],
    [['start', '--frobnicate'], /start: unknown option '--frobnicate'/],
    [['tree', '--frobnicate'], /tree: unknown option '--frobnicate'/],
    [['status', 'extra'], /status: unexpected argument 'extra'/],
    [['tree', '--http'], /tree: option '--http <value>' argument missing/],
    [['kill'], /kill: missing PATH/],
    [['bench', 'no-such-scenario'], /bench: unknown scenario 'no-such-scenario'/],
    [['bench', '--kill'], /bench: --kill needs --http/],
    [['help', 'frobnicate'], /unknown command 'frobnicate'/],
  ])('apiary %j fails with exit code 2 and a one-line reason', async (args, message) => {
    const { code, stdout, stderr } = await run(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/^apiary: [^\n]*\n$/); // exactly one line
    expect(stdout).toBe('');
  });

  it.each([
    [['start', '--log-level', 'loud'], /--log-level must be one of fatal, error, warn, info, debug, trace, silent, got "loud"/],
    [['start', '--log-format', 'xml'], /--log-format must be one of pretty, json, auto, got "xml"/],
  ])('apiary %j is an invalid config: exit 2 naming the flag, what it must be and what came', async (args, message) => {
    const { code, stdout, stderr } = await run(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^apiary: invalid config \(1 bad field\): [^\n]*\n$/);
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(stdout).toBe('');
  });

  it.each(['start', 'tree', 'kill', 'status', 'bench'])('apiary %s --help prints that verb\'s usage on stdout and exits 0', async (verb) => {
    for (const args of [[verb, '--help'], [verb, '-h'], ['help', verb]]) {
      const { code, stdout, stderr } = await run(args);
      expect(code, args.join(' ')).toBe(0);
      expect(stdout).toMatch(new RegExp(`^usage: apiary ${verb}`));
      expect(stderr).toBe('');
    }
  });

  it('apiary --help lists every verb and exits 0; --version prints the package version', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    for (const verb of ['start', 'tree', 'kill', 'status', 'bench']) expect(help.stdout).toMatch(new RegExp(`^  ${verb} `, 'm'));
    const version = await run(['--version']);
    expect(version.code).toBe(0);
    const { version: expected } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(version.stdout.trim()).toBe(expected);
  });

  it('runs through a symlink to the bin or to main.js, as npm links a bin (node_modules/.bin, global installs)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'apiary-bin-'));
    try {
      for (const target of [fileURLToPath(new URL('../../bin/apiary.js', import.meta.url)), cli]) {
        const link = join(dir, `apiary-${target.endsWith('main.js') ? 'main' : 'bin'}`);
        symlinkSync(target, link);
        const linked = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
          execFile(process.execPath, [link, 'status', '--help'], { timeout: 20_000 }, (err, stdout) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }),
          );
        });
        expect(linked.code, target).toBe(0);
        expect(linked.stdout, target).toMatch(/^usage: apiary status/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('apiary start --listen', () => {
  it('with a secret, listens for node links that must prove they hold it', async () => {
    const { connectNodeLink } = await import('../../dist/transport/node-link.js');
    const { RealClock } = await import('../../dist/index.js');
    process.env.APIARY_SECRET = 'swarm-secret';
    const node = startNode([cli, 'start', '--threads', '1', '--http', '127.0.0.1:0', '--listen', '127.0.0.1:0', '--name', 'n1']);
    delete process.env.APIARY_SECRET;
    try {
      await node.waitFor(/ready/, 20_000);
      const ws = /ws: (127\.0\.0\.1:\d+)/.exec(node.stdout())?.[1];
      expect(ws).toBeDefined();
      const clock = new RealClock();
      const good = await connectNodeLink(`ws://${ws}`, { name: 'n2', incarnation: 1, secret: new TextEncoder().encode('swarm-secret') }, { clock });
      expect(good.peer.name).toBe('n1');
      expect(good.peer.incarnation).toBeGreaterThan(1); // a clustered node's incarnation: its start time
      good.close();
      await expect(
        connectNodeLink(`ws://${ws}`, { name: 'n3', incarnation: 1, secret: new TextEncoder().encode('guess') }, { clock }),
      ).rejects.toMatchObject({ code: 'ERR_HANDSHAKE_FAILED' });
      node.child.kill('SIGTERM');
      expect(await node.exit(15_000)).toBe(0);
    } finally {
      node.dispose();
    }
  });

  it('without a secret, binds loopback only and says so', async () => {
    const node = startNode([cli, 'start', '--threads', '1', '--http', '127.0.0.1:0', '--listen', '0.0.0.0:0', '--insecure']);
    try {
      await node.waitFor(/ready/, 20_000);
      expect(node.stdout()).toMatch(/no cluster secret .*loopback only \(127\.0\.0\.1\)/);
      expect(node.stdout()).toMatch(/ws: 127\.0\.0\.1:\d+/);
      node.child.kill('SIGTERM');
      expect(await node.exit(15_000)).toBe(0);
    } finally {
      node.dispose();
    }
  });
});
