/**
 * The demo swarm, the main job: 30 s of it with restarts seen, no unhandled rejection, and a
 * clean exit on SIGTERM.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startNode } from './processes.js';
import { logLines } from './log-lines.js';

const cli = fileURLToPath(new URL('../../dist/runtime/cli/main.js', import.meta.url));

describe('demo swarm', () => {
  it('runs for 30 s with restarts observed and no unhandled rejection; SIGTERM → exit 0', async () => {
    process.env.APIARY_DEMO_FAULT_RATE = '0.1'; // inherited by the child: enough faults to see restarts
    const node = startNode([cli, 'start', '--threads', '2', '--http', '127.0.0.1:0']);
    delete process.env.APIARY_DEMO_FAULT_RATE;
    try {
      await node.waitFor(/ready/, 20_000);
      await new Promise((r) => setTimeout(r, 30_000));
      expect(node.child.exitCode).toBeNull(); // still running
      const lines = logLines(node.stdout());
      expect(lines.some((l) => l.component === 'supervisor' && /^\/demo\/\S+ exited \(Error: simulated fault in \w+\): restarting$/.test(l.msg))).toBe(true);
      expect(lines.some((l) => l.component === 'reports' && /^report #\d+: 500 rows/.test(l.msg))).toBe(true);
      node.child.kill('SIGTERM');
      expect(await node.exit(15_000)).toBe(0);
      expect(node.stderr()).toBe(''); // an unhandled rejection would print here (and kill the process)
    } finally {
      node.dispose();
    }
  }, 60_000);
});
