/**
 * Stores with real processes: an LMDB store keeps every append that resolved across a kill -9
 * of the process that wrote it, and `apiary start` refuses a corrupt store with one clear line.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LmdbStore } from '../../dist/index.js';
import { startNode, type NodeProcess } from './processes.js';

const fixture = (name: string): string => new URL(`../fixtures/${name}`, import.meta.url).pathname;
const apiary = new URL('../../bin/apiary.js', import.meta.url).pathname;
const cleanups: (() => void)[] = [];

afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'apiary-stores-it-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function started(p: NodeProcess): NodeProcess {
  cleanups.unshift(() => p.dispose());
  return p;
}

describe('an LMDB store on disk', () => {
  it('keeps every append that resolved when the writing process is killed -9, twice over', async () => {
    const dir = join(tempDir(), 'store');
    const acknowledged = new Map<string, number>();
    for (let round = 0; round < 2; round++) {
      const child = started(startNode([fixture('lmdb-appender.mjs'), dir]));
      await child.waitFor(/ready\n(.*\n){400}/, 15_000);
      child.child.kill('SIGKILL');
      await child.exit(5_000);
      for (const m of child.stdout().matchAll(/^ok (\w) (\d+)$/gm)) acknowledged.set(m[1]!, Math.max(acknowledged.get(m[1]!) ?? 0, Number(m[2])));
    }
    expect(acknowledged.size).toBe(4);
    const store = await LmdbStore.open(dir);
    try {
      for (const [pid, seq] of acknowledged) {
        expect(await store.highestSeq(pid)).toBeGreaterThanOrEqual(seq);
        const events = await store.read(pid, 1, seq);
        expect(events.map((e) => e.seq)).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
      }
    } finally {
      await store.close();
    }
  });
});

describe('apiary start --store', () => {
  it('refuses to start on a corrupt LMDB store: exit 1, one line naming the file', async () => {
    const dir = join(tempDir(), 'store');
    mkdirSync(dir);
    writeFileSync(join(dir, 'data.mdb'), 'not a database\n'.repeat(1000));
    const node = started(startNode([apiary, 'start', '--name', 'n1', '--threads', '0', '--http', '127.0.0.1:0', '--store', `lmdb:${dir}`]));
    expect(await node.exit(15_000)).toBe(1);
    const lines = node.stderr().trim().split('\n');
    expect(lines.at(-1)).toContain(join(dir, 'data.mdb'));
    expect(lines.at(-1)).toMatch(/^apiary: cannot start the node: .*not an LMDB data file/);
  });

  it('opens the store it is given and keeps it in the directory', async () => {
    const dir = join(tempDir(), 'store');
    const node = started(startNode([apiary, 'start', '--name', 'n1', '--threads', '0', '--http', '127.0.0.1:0', '--store', `lmdb:${dir}`, '--log-format', 'json']));
    await node.waitFor(/ready/, 15_000);
    node.child.kill('SIGTERM');
    expect(await node.exit(10_000)).toBe(0);
    expect(existsSync(join(dir, 'data.mdb'))).toBe(true);
    const store = await LmdbStore.open(dir);
    expect(await store.ids('', 10)).toEqual([]);
    await store.close();
  });
});
