/**
 * A durable workflow in a real node process on a real LMDB store: killed with -9 right after
 * step 3 of 5 is durable, the node started again resumes the run at the durable timer and
 * step 4 — steps 1–3 are never asked again — and the timer fires at its journaled wake-up
 * time, not a full wait after the restart. The README's example is examples/durable-workflow.mjs
 * and runs as pasted. Slow: four node processes, ~5 s.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startNode, type NodeProcess } from './processes.js';

const fixture = new URL('../fixtures/durable-workflow-node.mjs', import.meta.url).pathname;
const root = new URL('../..', import.meta.url).pathname;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function tempDir(): string {
  const base = mkdtempSync(join(tmpdir(), 'apiary-durable-wf-'));
  cleanups.push(() => rmSync(base, { recursive: true, force: true }));
  return base;
}

function node(dir: string): NodeProcess {
  const p = startNode([fixture, dir]);
  cleanups.unshift(() => p.dispose());
  return p;
}

const asked = (out: string): string[] => [...out.matchAll(/^ask (\w+) \d+$/gm)].map((m) => m[1]!);

describe('a durable workflow in a node killed with -9', () => {
  it('resumes after step 3 without asking steps 1–3 again; its timer keeps its wake-up time', { timeout: 20_000 }, async () => {
    const dir = join(tempDir(), 'store');

    const first = node(dir);
    await first.waitFor(/^durable s3$/m, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the 1 s timer is journaled, s4 not yet asked
    first.child.kill('SIGKILL');
    await first.exit(5_000);
    const killedAt = Date.now();
    expect(first.stdout()).toMatch(/^resumed 0$/m);
    expect(asked(first.stdout())).toEqual(['s1', 's2', 's3']);

    const second = node(dir);
    await second.waitFor(/^result /m, 10_000);
    expect(await second.exit(5_000)).toBe(0);
    const out = second.stdout();
    expect(out).toMatch(/^resumed 1$/m);
    expect(asked(out)).toEqual(['s4', 's5']); // s1–s3 finished before the kill: never again
    expect(out).toMatch(/^result completed s5\(s4\(\d+\)\)$/m);
    const wake = Number(/^wake (\d+)$/m.exec(out)![1]);
    const s4At = Number(/^ask s4 (\d+)$/m.exec(out)![1]);
    expect(s4At).toBeGreaterThanOrEqual(wake); // the timer waited until its wake-up…
    expect(wake).toBeLessThan(killedAt + 1000); // …which was set by the first process, not restarted
  });
});

describe('the README example of durable workflows', () => {
  it('is the same code as examples/durable-workflow.mjs', () => {
    const readme = readFileSync(`${root}README.md`, 'utf8');
    const block = /## Durable workflows\n[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBe(readFileSync(`${root}examples/durable-workflow.mjs`, 'utf8'));
  });

  it('runs to the end, and run again on its directory finds the finished run', () => {
    const dir = join(tempDir(), 'store');
    const run = (): string[] => execFileSync(process.execPath, ['examples/durable-workflow.mjs', dir], { cwd: root, encoding: 'utf8', timeout: 15_000 }).trim().split('\n');
    const expected = ['resumed 0', 'publish(draft(bees), ann)', 'article-42 completed'];
    expect(run()).toEqual(expected);
    expect(run()).toEqual(expected);
  });
});
