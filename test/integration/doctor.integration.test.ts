/**
 * `apiary doctor` as users run it, against real ports and real seed nodes on 127.0.0.1
 * (a non-loopback host appears only as a config value checked without binding): it passes a
 * free config, and fails with exit 1 and the fix for an occupied port, an unreachable seed,
 * a seed holding another secret, a short secret beyond loopback and a worker module that
 * does not load; it reports clock skew against a real seed, whose /members never lists it;
 * bad usage exits 2.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startNode, type NodeProcess } from './processes.js';

const cli = fileURLToPath(new URL('../../dist/runtime/cli/main.js', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
/** The environment without a secret of the test runner's. */
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'APIARY_SECRET' && k !== 'NO_COLOR'));

let dir: string;
let goodSecret: string;
let otherSecret: string;
let shortSecret: string;
let seed: NodeProcess | undefined;
let seedWs = '';
let seedHttp = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'apiary-doctor-'));
  goodSecret = join(dir, 'good.secret');
  otherSecret = join(dir, 'other.secret');
  shortSecret = join(dir, 'short.secret');
  writeFileSync(goodSecret, 'a-cluster-secret-of-32-bytes-ok!\n');
  writeFileSync(otherSecret, 'another-cluster-secret-32-bytes!\n');
  writeFileSync(shortSecret, 'short\n');
  seed = startNode([cli, 'start', '--threads', '0', '--name', 'seed', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--secret-file', goodSecret], env);
  await seed.waitFor(/ready/, 30_000);
  seedWs = /ws: (127\.0\.0\.1:\d+)/.exec(seed.stdout())![1]!;
  seedHttp = /http: (127\.0\.0\.1:\d+)/.exec(seed.stdout())![1]!;
}, 40_000);

afterAll(() => {
  seed?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

function doctor(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, 'doctor', ...args], { timeout: 30_000, env }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function listening(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

interface Report {
  node: string;
  ok: boolean;
  checks: { id: string; status: 'pass' | 'fail' | 'skip'; detail: string; fix?: string; data?: Record<string, unknown> }[];
}

describe('apiary doctor', () => {
  it('passes a free config: ports free, secret fine, the seed accepts the handshake, worker modules load', async () => {
    const [listen, http] = [await freePort(), await freePort()];
    const { code, stdout } = await doctor([
      '--config', fixture('doctor-config.mjs'),
      '--listen', `127.0.0.1:${listen}`,
      '--http', `127.0.0.1:${http}`,
      '--secret-file', goodSecret,
      '--seeds', `ws://${seedWs}`,
    ]); // prettier-ignore
    expect(code, stdout).toBe(0);
    expect(stdout).toMatch(/^ {2}PASS {2}listen port +127\.0\.0\.1:\d+ is free$/m);
    expect(stdout).toMatch(/^ {2}PASS {2}HTTP port +127\.0\.0\.1:\d+ is free$/m);
    expect(stdout).toMatch(/^ {2}PASS {2}cluster secret +32 bytes \(loopback\)/m);
    expect(stdout).toMatch(new RegExp(`^  PASS  seed ws://${seedWs} +node seed accepted the handshake`, 'm'));
    expect(stdout).toMatch(/^ {2}PASS {2}module \/app\/echo +Echo from .*agents\.mjs loads on a worker thread$/m);
    expect(stdout).toMatch(/^ {2}PASS {2}module \/app\/inner\/auto /m);
    expect(stdout).not.toMatch(/FAIL/);
  });

  it('reports clock skew against a real seed (--json), and the probe never makes it a member of the seed', async () => {
    const { code, stdout } = await doctor(['--json', '--http', '127.0.0.1:0', '--secret-file', goodSecret, '--seeds', `ws://${seedWs}`]);
    expect(code, stdout).toBe(0);
    const report = JSON.parse(stdout) as Report;
    expect(report.ok).toBe(true);
    const skew = report.checks.find((c) => c.id === `skew:ws://${seedWs}`)!;
    expect(skew.status).toBe('pass');
    expect(skew.detail).toMatch(/^[+-]\d+ ms \(± \d+ ms\) against node seed$/);
    // one machine, one clock: the skew is within the round trip
    expect(Math.abs(skew.data!.skewMs as number)).toBeLessThanOrEqual((skew.data!.uncertaintyMs as number) + 5);
    const members = (await (await fetch(`http://${seedHttp}/members`)).json()) as { members: { node: string }[] };
    expect(members.members.map((m) => m.node)).toEqual(['seed']);
  });

  it('fails with exit 1 and the fix when the HTTP port is in use', async () => {
    const taken = await listening();
    const port = (taken.address() as { port: number }).port;
    try {
      const { code, stdout } = await doctor(['--http', `127.0.0.1:${port}`]);
      expect(code).toBe(1);
      expect(stdout).toContain(`FAIL  HTTP port       port ${port} is in use (127.0.0.1:${port})`);
      expect(stdout).toContain(`fix: pass --http HOST:PORT with a free port, or stop the process using port ${port}`);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });

  it('fails with exit 1 and the fix when a seed is unreachable', async () => {
    const port = await freePort();
    const { code, stdout } = await doctor(['--http', '127.0.0.1:0', '--secret-file', goodSecret, '--seeds', `ws://127.0.0.1:${port}`]);
    expect(code).toBe(1);
    expect(stdout).toMatch(new RegExp(`FAIL  seed ws://127\\.0\\.0\\.1:${port} +unreachable: .*ECONNREFUSED`));
    expect(stdout).toContain(`fix: start the node at ws://127.0.0.1:${port} first, or fix --seeds`);
    expect(stdout).toMatch(new RegExp(`SKIP  clock skew ws://127\\.0\\.0\\.1:${port} +the seed did not answer`));
  });

  it('fails with exit 1 and the fix when the seed holds another secret (handshake refused)', async () => {
    const { code, stdout } = await doctor(['--json', '--http', '127.0.0.1:0', '--secret-file', otherSecret, '--seeds', `ws://${seedWs}`]);
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as Report;
    expect(report.ok).toBe(false);
    const check = report.checks.find((c) => c.id === `seed:ws://${seedWs}`)!;
    expect(check).toMatchObject({ status: 'fail', data: { failure: 'refused' } });
    expect(check.detail).toMatch(/^handshake refused/);
    expect(check.fix).toMatch(/use the same cluster secret on every node/);
  });

  it('fails with exit 1 and the fix for a short secret beyond loopback (a config value, never bound)', async () => {
    const { code, stdout } = await doctor(['--listen', '192.0.2.10:7946', '--http', '127.0.0.1:0', '--secret-file', shortSecret]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/FAIL {2}cluster secret +5 bytes: too short for a node reachable beyond loopback \(192\.0\.2\.10\)/);
    expect(stdout).toContain('fix: use a secret of at least 16 random bytes');
    expect(stdout).toMatch(/FAIL {2}listen port +192\.0\.2\.10 is not an address of this machine/);
  });

  it('fails with exit 1 and the fix for worker modules that no worker thread can load', async () => {
    const { code, stdout } = await doctor(['--config', fixture('doctor-bad-config.mjs'), '--http', '127.0.0.1:0']);
    expect(code).toBe(1);
    expect(stdout).toMatch(/FAIL {2}module \/app\/nameless +Nameless has no static 'module'/);
    expect(stdout).toMatch(/FAIL {2}module \/app\/main-only +does not load on a worker thread: this module needs the main thread/);
    expect(stdout).toMatch(/fix: make .*main-thread-only\.mjs loadable on its own/);
  });

  it.each([
    [['--frobnicate'], /unknown option '--frobnicate'/i],
    [['--http', 'nowhere'], /--http must be HOST:PORT/],
    [['--seeds', 'http://127.0.0.1:1'], /--seeds .*must be a ws:\/\/HOST:PORT URL.*'?"?http:\/\/127\.0\.0\.1:1/],
  ])('apiary doctor %j is bad usage: exit 2 with one line', async (args, message) => {
    const { code, stderr } = await doctor(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });
});
