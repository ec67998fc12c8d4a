/**
 * Leases across processes on a real redis-server (runtime/persistence/lease.ts): a holder
 * killed with -9 is succeeded by a waiting one only after its lease ran out, with a greater
 * fencing token, and their "held" times never overlap.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startNode, type NodeProcess } from './processes.js';
import { redisOfTest } from './redis-server.js';

const HOLDER = fileURLToPath(new URL('../fixtures/lease-holder.mjs', import.meta.url));
const procs: NodeProcess[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) p.dispose();
});

const lines = (p: NodeProcess, word: string): number[][] =>
  [...p.stdout().matchAll(new RegExp(`^${word} (\\d+)(?: (\\d+))?$`, 'gm'))].map((m) => m.slice(1).filter((x) => x !== undefined).map(Number));

describe('a lease on Redis', () => {
  const redisServer = redisOfTest();
  it('passes from a holder killed -9 to a waiting one only after it ran out: a greater token, no overlap (slow: two processes, ~2 s)', async () => {
    const redis = await redisServer.start();
    const start = (owner: string) => {
      const p = startNode([HOLDER, redis.url, owner, 'the-lock', '600']);
      procs.push(p);
      return p;
    };
    const a = start('a');
    await a.waitFor(/^held /m, 15_000);
    const b = start('b');
    await new Promise((r) => setTimeout(r, 800)); // b waits, a renews (TTL 600 ms: a's lease was renewed meanwhile)
    expect(b.stdout()).not.toMatch(/^held /m);
    a.child.kill('SIGKILL');
    await a.exit(5000);
    await b.waitFor(/^held /m, 5000);
    const [[tokenA]] = lines(a, 'held');
    const [[tokenB, heldB]] = lines(b, 'held');
    expect(tokenB!).toBeGreaterThan(tokenA!);
    const lastTickA = Math.max(...lines(a, 'tick').map(([, at]) => at!));
    expect(heldB!).toBeGreaterThan(lastTickA);
  });
});
