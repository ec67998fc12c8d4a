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

describe('apiary backup and apiary restore', () => {
  it('copy a store while it is being written, and restore it into a fresh directory with the same events', async () => {
    const base = tempDir();
    const dir = join(base, 'live');
    const store = await LmdbStore.open(dir);
    const { epoch } = await store.claim('run/1', 'test');
    let next = 1;
    for (; next <= 200; next++) await store.append('run/1', epoch, next, [{ step: next }], next);
    // keep writing while the backup runs in another process
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await store.append('run/1', epoch, next, [{ step: next }], next);
        next++;
      }
    })();
    const out = join(base, 'backup.mdb');
    const backup = started(startNode([apiary, 'backup', '--store', `lmdb:${dir}`, '--out', out]));
    const backupExit = await backup.exit(15_000);
    writing = false;
    await writer;
    expect(backupExit, backup.stderr()).toBe(0);
    expect(next).toBeGreaterThan(201); // the store was written while the copy was taken
    expect(backup.stdout()).toContain(`backed up ${dir} to ${out}`);

    const restored = join(base, 'restored');
    const restore = started(startNode([apiary, 'restore', out, '--store', `lmdb:${restored}`]));
    expect(await restore.exit(15_000), restore.stderr()).toBe(0);
    const copy = await LmdbStore.open(restored);
    try {
      const highest = await copy.highestSeq('run/1');
      expect(highest).toBeGreaterThanOrEqual(200);
      expect(highest).toBeLessThan(next);
      expect((await copy.read('run/1', 1)).map((e) => e.event)).toEqual((await store.read('run/1', 1, highest)).map((e) => e.event));
    } finally {
      await copy.close();
      await store.close();
    }

    const again = started(startNode([apiary, 'restore', out, '--store', `lmdb:${restored}`]));
    expect(await again.exit(15_000)).toBe(1);
    expect(again.stderr()).toMatch(/^apiary: .*data\.mdb exists: restore into an empty directory/);
  });

  it('refuses to restore a file that is not a backup: exit 1, nothing written', async () => {
    const base = tempDir();
    const bad = join(base, 'bad.mdb');
    writeFileSync(bad, 'garbage'.repeat(2000));
    const restore = started(startNode([apiary, 'restore', bad, '--store', `lmdb:${join(base, 'target')}`]));
    expect(await restore.exit(15_000)).toBe(1);
    expect(restore.stderr()).toContain(bad);
    expect(existsSync(join(base, 'target', 'data.mdb'))).toBe(false);
  });
});
