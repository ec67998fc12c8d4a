/**
 * Persistent actors on a real LMDB store on disk, in real node processes: an agent's
 * acknowledged events survive a kill -9 of the whole node (on the main thread and on a worker
 * thread) and a crash of its worker thread; the README's example runs as pasted; on another
 * node over a shared Redis store it fails over with its journal.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { allUp, membersUntil, nodesOfTest, until } from './cluster-driver.js';
import { startNode, type NodeProcess } from './processes.js';
import { redisOfTest } from './redis-server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const NODE = fileURLToPath(new URL('../fixtures/persist-node.mjs', import.meta.url));

const nodes: NodeProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const n of nodes.splice(0)) n.dispose();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'apiary-persist-'));
  dirs.push(d);
  return d;
}

async function startLedger(dir: string, thread: number): Promise<NodeProcess> {
  const n = startNode([NODE, join(dir, 'store'), String(thread)]);
  nodes.push(n);
  await n.waitFor(/^ready$/m, 15_000);
  return n;
}

/** Deposits acknowledged so far ("ok N …" lines): the amounts. */
function acked(n: NodeProcess): number[] {
  return [...n.stdout().matchAll(/^ok (\d+) \d+$/gm)].map((m) => Number(m[1]));
}

/** Polls `writes` until `check` holds (bounded); the last answer. */
async function writesUntil(n: NodeProcess, check: (w: { counts: Record<string, number>; events: number }) => boolean): Promise<{ counts: Record<string, number>; events: number }> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const before = n.stdout().length;
    n.send('writes');
    let line: RegExpExecArray | null = null;
    while ((line = /^writes (\{.*\})$/m.exec(n.stdout().slice(before))) === null) {
      if (performance.now() > deadline) throw new Error(`no answer to writes:\n${n.stdout()}${n.stderr()}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const w = JSON.parse(line[1]!) as { counts: Record<string, number>; events: number };
    if (check(w) || performance.now() > deadline) return w;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stateOf(n: NodeProcess): Promise<{ balance: number; deposits: number }> {
  const before = n.stdout().length;
  n.send('get');
  await n.waitFor(/^state \{.*\}$/m, 10_000);
  const line = /^state (\{.*\})$/m.exec(n.stdout().slice(before))![1]!;
  return JSON.parse(line) as { balance: number; deposits: number };
}

/**
 * Deposits `from`..`to` (the amounts of one series 1, 2, 3, …) and waits until the last is
 * acknowledged, then sends `to+1`..`to+more` without waiting and kills the node with SIGKILL
 * once a few more were acknowledged. Returns how many this process acknowledged in all.
 */
async function depositThenKill(n: NodeProcess, from: number, to: number, more: number): Promise<number> {
  for (let i = from; i <= to; i++) n.send(`deposit ${i}`);
  await n.waitFor(new RegExp(`^ok ${to} `, 'm'), 10_000);
  for (let i = to + 1; i <= to + more; i++) n.send(`deposit ${i}`);
  await n.waitFor(new RegExp(`^ok ${to + 3} `, 'm'), 10_000);
  n.child.kill('SIGKILL');
  expect(await n.exit(5000)).not.toBe('timeout');
  return acked(n).length;
}

/** After a restart: every acknowledged deposit is there, and what is there is a prefix 1..k of what was sent. */
function expectPrefixOfAtLeast(state: { balance: number; deposits: number }, ackedCount: number): void {
  const k = state.deposits;
  expect(k).toBeGreaterThanOrEqual(ackedCount);
  expect(state.balance).toBe((k * (k + 1)) / 2);
}

describe('a persistent agent on LMDB', () => {
  it.each([
    ['the main thread', 0],
    ['a worker thread', 1],
  ])('on %s keeps every acknowledged event through a kill -9 of the node', async (_where, thread) => {
    const dir = tempDir();
    const first = await startLedger(dir, thread);
    const ackedCount = await depositThenKill(first, 1, 20, 200);

    const second = await startLedger(dir, thread);
    expectPrefixOfAtLeast(await stateOf(second), ackedCount);
  }, 40_000);

  it('keeps its state through a crash of its worker thread, then through a kill -9', async () => {
    const dir = tempDir();
    const n = await startLedger(dir, 1);
    for (let i = 1; i <= 10; i++) n.send(`deposit ${i}`);
    await n.waitFor(/^ok 10 /m, 10_000);
    // the worker's journal writes are counted on the main thread (10 events, a snapshot at 7) and reach its events$
    const onWorker = await writesUntil(n, (w) => (w.counts.events ?? 0) >= 10);
    expect(onWorker.counts).toEqual({ events: 10, snapshot: 1 });
    expect(onWorker.events).toBe(11);

    n.send('exit-thread');
    await n.waitFor(/^thread-exited$/m, 15_000);
    expect(await stateOf(n)).toEqual({ balance: 55, deposits: 10 });
    // the dead thread's counts are kept
    expect((await writesUntil(n, () => true)).counts).toEqual({ events: 10, snapshot: 1 });

    const ackedCount = await depositThenKill(n, 11, 20, 100);
    const again = await startLedger(dir, 1);
    expectPrefixOfAtLeast(await stateOf(again), ackedCount);
  }, 60_000);
});

describe('the README example of persistent actors', () => {
  it('is the same code as examples/persistent.mjs', () => {
    const readme = readFileSync(`${root}README.md`, 'utf8');
    const block = /## Persistent actors\n[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBe(readFileSync(`${root}examples/persistent.mjs`, 'utf8'));
  });

  it('keeps the balance through the crash and from one run to the next', () => {
    const cwd = tempDir();
    const run = () => execFileSync(process.execPath, [`${root}examples/persistent.mjs`], { cwd, encoding: 'utf8', timeout: 20_000 }).trim().split('\n');
    expect(run()).toEqual(['10', 'ERR_ACTOR_FAILED', '15']);
    expect(run()).toEqual(['25', 'ERR_ACTOR_FAILED', '30']);
  });
});

describe('apiary bench persist', () => {
  it('gives throughput, p50 and p99 for apiary and raw lmdb, 1,000 actors and one actor (bench contract rows)', () => {
    const dir = tempDir();
    const out = execFileSync(process.execPath, [`${root}bin/apiary.js`, 'bench', 'persist', '--quick', '--json', '--out', join(dir, 'rows.json')], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const rows = JSON.parse(out) as { scenario: string; system: string; metric: string; value: number; unit: string; variant?: string }[];
    const keys = rows.map((r) => `${r.system}/${r.variant ?? '-'}/${r.metric}/${r.unit}`).sort();
    const want = ['apiary', 'raw'].flatMap((s) => ['-', 'one-actor'].flatMap((v) => [`${s}/${v}/p50/us`, `${s}/${v}/p99/us`, `${s}/${v}/throughput/msg/s`]));
    expect(keys).toEqual(want.sort());
    expect(rows.every((r) => r.scenario === 'persist' && Number.isFinite(r.value) && r.value > 0)).toBe(true);
  }, 60_000);
});

describe('a persistent actor on another node, over a shared Redis store', () => {
  const { node } = nodesOfTest();
  const redisServer = redisOfTest();

  it('fails over when its node is killed -9: it recovers every acknowledged event on the node that takes it, and goes on (slow: two processes and redis-server, ~2 s)', async () => {
    const redis = await redisServer.start();
    const store = { kind: 'redis', url: redis.url, prefix: `failover-${process.pid}:` };
    const cluster = { heartbeatMs: 100, failureDetector: { acceptablePauseMs: 500 }, downAfterMs: 1000, downRemovalMarginMs: 500 };
    const a = await node({ name: 'a', store, cluster });
    const b = await node({ name: 'b', seeds: [a.url], store, cluster });
    await membersUntil(a.http, allUp(['a', 'b']), 5000);
    await a.cmd({ cmd: 'supervise', node: 'b', actor: 'Ledger' });
    const balances: number[] = [];
    for (let amount = 1; amount <= 10; amount++) {
      const { node: where, reply } = await a.cmd<{ node: string; reply: number }>({ cmd: 'childAsk', msg: { type: 'deposit', amount } });
      expect(where).toBe('b');
      balances.push(reply);
    }
    expect(balances.at(-1)).toBe(55);
    b.proc.child.kill('SIGKILL');
    await a.waitResult((v) => v.member === 'b' && v.state === 'down', 8000);
    const moved = await until(
      () => a.cmd<{ node: string; reply: { balance: number; deposits: number } }>({ cmd: 'childAsk', msg: { type: 'get' } }).catch(() => undefined),
      (r) => r?.node === 'a',
      8000,
      'the ledger restarted on a',
    );
    expect(moved!.reply).toEqual({ balance: 55, deposits: 10 });
    expect(await a.cmd({ cmd: 'childAsk', msg: { type: 'deposit', amount: 45 } })).toEqual({ node: 'a', reply: 100 });
  });
});
