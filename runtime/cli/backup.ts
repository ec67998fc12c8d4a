/**
 * `apiary backup --out FILE` and `apiary restore FILE`: a consistent copy of a node's
 * embedded (LMDB) store, taken while the node runs, and a store made from such a copy.
 * Owns: the flags and the lines printed. Does not own the copy itself
 * (LmdbStore.backup / LmdbStore.restore, runtime/persistence/lmdb-store.ts).
 * The store is named as for `apiary start`: `--store lmdb:DIR`, or `--name NODE` for the
 * node's default data directory (`./apiary-data/<node>`).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LMDB_DATA_FILE, LmdbStore } from '../persistence/lmdb-store.js';
import { defaultDataDir, parseStoreSpec } from '../persistence/open-store.js';
import { CliError, UsageError } from './usage.js';

const FLAGS = {
  store: { type: 'string' },
  name: { type: 'string' },
  out: { type: 'string' },
} as const;

/** The LMDB directory the flags name; Redis and memory are refused (bad usage). */
function storeDir(values: { store?: string | undefined; name?: string | undefined }, verb: string): string {
  if (values.store === undefined && values.name === undefined) throw new UsageError(`${verb}: say which store: --store lmdb:DIR, or --name NODE for ./apiary-data/NODE`);
  if (values.store === undefined) return defaultDataDir(values.name!);
  let spec;
  try {
    spec = parseStoreSpec(values.store, process.cwd(), values.name);
  } catch (err) {
    throw new UsageError(`${verb}: ${(err as Error).message}`);
  }
  if (spec.kind !== 'lmdb') throw new UsageError(`${verb}: only the embedded store (lmdb:DIR) is backed up here; a Redis server is backed up with its own RDB/AOF files`);
  return spec.dir;
}

/** `apiary backup`: prints where the copy went; exit 1 when the store is missing or the copy fails. */
export async function backup(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: FLAGS, strict: true });
  if (values.out === undefined) throw new UsageError('backup: --out FILE is required (a new file)');
  const dir = storeDir(values, 'backup');
  const out = resolve(values.out);
  if (!existsSync(join(dir, LMDB_DATA_FILE))) throw new CliError(`backup: no store in ${dir} (nothing to back up)`);
  await failsAsOneLine(async () => {
    const store = await LmdbStore.open(dir);
    try {
      await store.backup(out);
    } finally {
      await store.close();
    }
  });
  console.log(`backed up ${dir} to ${out}`);
  return 0;
}

/** `apiary restore FILE`: makes the named (empty) store from the copy FILE; exit 1 on a bad copy or an existing store. */
export async function restore(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { store: FLAGS.store, name: FLAGS.name }, strict: true, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError('restore: one FILE (a backup made by apiary backup) is required');
  const dir = storeDir(values, 'restore');
  const file = resolve(positionals[0]!);
  await failsAsOneLine(() => LmdbStore.restore(file, dir));
  console.log(`restored ${file} into ${dir}`);
  return 0;
}

/** A store's refusal (corrupt, existing, unwritable) as a runtime failure: exit 1, its message. */
async function failsAsOneLine(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}
