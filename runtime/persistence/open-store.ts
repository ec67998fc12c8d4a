/**
 * Choosing and opening a store: `--store` text → {@link StoreSpec} → an opened {@link Store}.
 * Owns: the spec syntax (`lmdb:DIR`, `redis://HOST:PORT`, `memory`) and a node's default data
 * directory. Does not own: the backends (lmdb-store.ts, redis-store.ts, memory-store.ts).
 * Threads: callable on any thread; each call opens a store object of its own (LMDB shares one
 * environment per directory within the process; Redis opens a connection per store).
 * Time: Redis's connect timeout only.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import { LMDB_DATA_FILE, LmdbStore } from './lmdb-store.js';
import { MemoryStore } from './memory-store.js';
import { RedisStore } from './redis-store.js';
import type { Store, StoreSpec } from './store.js';
import { STORE_DEFAULTS } from './store-defaults.js';

/**
 * Parses a store text: `lmdb:DIR` (DIR resolved against `cwd`), `lmdb` (the default data
 * directory of node `nodeName`: {@link defaultDataDir}), `redis://HOST:PORT[/DB]` (also
 * `rediss://`), or `memory` (this thread's memory: tests only). Anything else throws
 * `ERR_INVALID_CONFIG` with `field` `store`.
 */
export function parseStoreSpec(text: string, cwd: string = process.cwd(), nodeName: string = STORE_DEFAULTS.nodeName): StoreSpec {
  if (text === 'memory') return { kind: 'memory' };
  if (text === 'lmdb') return { kind: 'lmdb', dir: defaultDataDir(nodeName, cwd) };
  if (text.startsWith('lmdb:') && text.length > 'lmdb:'.length) return { kind: 'lmdb', dir: resolve(cwd, text.slice('lmdb:'.length)) };
  if (/^rediss?:\/\/[^\s/]+(\/\d+)?\/?$/.test(text)) return { kind: 'redis', url: text };
  throw new ApiaryError(ErrorCodes.INVALID_CONFIG, `store "${text}" is not lmdb:DIR, redis://HOST:PORT or memory`, { field: 'store' });
}

/** The spec text of a store (what {@link parseStoreSpec} reads back). */
export function formatStoreSpec(spec: StoreSpec): string {
  return spec.kind === 'lmdb' ? `lmdb:${spec.dir}` : spec.kind === 'redis' ? spec.url : 'memory';
}

/**
 * The default data directory of node `nodeName`: `<cwd>/apiary-data/<node name>` (the node
 * name made safe for a file name).
 */
export function defaultDataDir(nodeName: string, cwd: string = process.cwd()): string {
  const safe = nodeName.replace(/[^A-Za-z0-9._-]/g, '_');
  return join(resolve(cwd), STORE_DEFAULTS.dataRoot, /^\.*$/.test(safe) ? '_' : safe);
}

/**
 * Opens the store of `spec`. Rejects `ERR_STORE_CORRUPT` (a corrupt, truncated or foreign
 * LMDB file; `field`: the file) or `ERR_STORE_UNAVAILABLE` (Redis unreachable within its
 * connect timeout, a directory that cannot be made) — never an empty store in place of data.
 */
export async function openStore(spec: StoreSpec): Promise<Store> {
  switch (spec.kind) {
    case 'lmdb':
      return LmdbStore.open(spec.dir);
    case 'redis':
      return RedisStore.open(spec.url, spec.prefix === undefined ? {} : { prefix: spec.prefix });
    case 'memory':
      return new MemoryStore();
  }
}

/** True for an opened store (it has `close`), false for a spec. */
export function isStore(value: StoreSpec | Store): value is Store {
  return typeof (value as Store).close === 'function';
}

/**
 * Checks, without creating anything, that the store of `spec` would open: an existing LMDB
 * store opens (intact file, known format) and closes; a new one's directory (or its nearest
 * existing parent) is writable; a Redis server answers and takes a write. Rejects with why
 * (`apiary doctor`'s store check).
 */
export async function probeStore(spec: StoreSpec): Promise<void> {
  if (spec.kind === 'memory') return;
  if (spec.kind === 'lmdb' && !existsSync(join(spec.dir, LMDB_DATA_FILE))) {
    let dir = spec.dir;
    while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
    try {
      accessSync(dir, constants.W_OK);
    } catch {
      throw new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, `${dir} is not writable: the store ${spec.dir} cannot be made`, { field: spec.dir });
    }
    return;
  }
  const store = await openStore(spec);
  await store.close();
}
