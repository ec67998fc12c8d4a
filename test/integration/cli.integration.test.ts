/**
 * The `apiary` command as users run it: `start` brings up the demo swarm and stops in order
 * on SIGTERM; bad usage is one line on stderr and exit code 2.
 */
import { execFile } from 'node:child_process';
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
    [['start', '--threads', 'many'], /--threads must be an integer/],
    [['start', '--http', 'nowhere'], /--http must be HOST:PORT/],
    [['start', '--log-level', 'loud'], /--log-level must be one of fatal, error, warn, info, debug, trace, silent, got 'loud'/],
    [['start', '--log-format', 'xml'], /--log-format must be one of pretty, json, auto, got 'xml'/],
  ])('apiary %j fails with exit code 2 and a one-line reason', async (args, message) => {
    const { code, stderr } = await run(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
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
    const node = startNode([cli, 'start', '--threads', '1', '--http', '127.0.0.1:0', '--listen', '0.0.0.0:0']);
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
