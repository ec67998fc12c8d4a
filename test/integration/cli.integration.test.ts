/**
 * The `apiary` command as users run it: `start` brings up the demo swarm and stops in order
 * on SIGTERM; bad usage is one line on stderr and exit code 2.
 */
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../../dist/runtime/cli.js', import.meta.url));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('apiary CLI', () => {
  it('start runs the demo swarm, prints one ready line, and SIGTERM stops it with exit code 0', async () => {
    const child = spawn(process.execPath, [cli, 'start', '--threads', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = performance.now() + 20_000;
      while (!/\[reports\] report #1/.test(out) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(out).toMatch(/^apiary node demo ready · threads: 2 /m);
      expect(out).toMatch(/\[reports\] report #1: 500 rows/);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out.trim().endsWith('apiary node demo stopped')).toBe(true);
      expect(err).toBe('');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it.each([
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['start', '--threads', 'many'], /--threads must be an integer/],
    [['tree'], /needs the HTTP admin server/],
  ])('apiary %j fails with exit code 2 and a one-line reason', async (args, message) => {
    const { code, stderr } = await run(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
