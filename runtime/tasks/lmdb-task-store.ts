/**
 * The LMDB task store: a LocalTaskStore (local-task-store.ts) written through to one named
 * database (`apiary-tasks`) of an LMDB environment — the node's own, shared with its journal
 * and state (pass the opened `RootDatabase`), or one opened from a directory here.
 *
 * Owns: the task records on disk (key: task id, value: the record, msgpack) and reading them
 * back at open. Does not own the environment it is given (nor closes it).
 * Durability: lmdb-js batches the puts of one event-loop turn into one durable transaction
 * (group commit), so many submits of a turn wait for one commit (DESIGN §8: ~2.6k awaited
 * puts/s one at a time, ~500k/s batched).
 * Threads: the thread that opened it; one process per environment for tasks.
 */
import { LmdbStore, type LmdbDatabase, type LmdbRoot } from '../persistence/lmdb-store.js';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import { LocalTaskStore, type TaskPersistence } from './local-task-store.js';
import { TASK_STATES, type Task } from './task.js';
import type { TaskStore } from './task-store.js';

/** The named database of the tasks in a shared environment (the root must allow `maxDbs` for it). */
export const LMDB_TASKS_DB = 'apiary-tasks';

/** Where the LMDB task store lives: an opened environment (shared), or a directory of its own. */
export type LmdbTaskStoreOptions = { root: LmdbRoot } | { dir: string };

/**
 * Opens the task store in LMDB and reads every task back. Rejects `ERR_STORE_UNAVAILABLE`
 * when the environment cannot be opened (a missing or unwritable directory) and
 * `ERR_STORE_CORRUPT` when a record cannot be read or is not a task — never starts empty.
 */
export async function openLmdbTaskStore(options: LmdbTaskStoreOptions): Promise<TaskStore> {
  // a directory of its own: an LmdbStore there (format checked, corrupt files refused), closed with the task store
  const own = 'dir' in options ? await LmdbStore.open(options.dir) : undefined;
  const root = own?.lmdbRoot ?? (options as { root: LmdbRoot }).root;
  let db: LmdbDatabase;
  try {
    db = root.openDB({ name: LMDB_TASKS_DB, encoding: 'msgpack' });
  } catch (err) {
    await own?.close();
    throw new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, `cannot open the ${LMDB_TASKS_DB} database: ${(err as Error).message}`, { cause: err });
  }
  const persistence = new LmdbPersistence(db, own);
  try {
    return new LocalTaskStore('lmdb', persistence);
  } catch (err) {
    await own?.close();
    throw err;
  }
}

class LmdbPersistence implements TaskPersistence {
  constructor(
    private readonly db: LmdbDatabase,
    private readonly own: LmdbStore | undefined,
  ) {}

  *load(): Iterable<Task> {
    let entries: Iterable<{ key: string; value: Task }>;
    try {
      entries = this.db.getRange() as Iterable<{ key: string; value: Task }>;
      for (const { key, value } of entries) {
        if (!isTask(value) || value.id !== key) throw new Error(`record ${String(key)} is not a task`);
        yield value;
      }
    } catch (err) {
      throw new ApiaryError(ErrorCodes.STORE_CORRUPT, `the task store cannot be read: ${(err as Error).message}`, { cause: err, field: LMDB_TASKS_DB });
    }
  }

  async put(task: Task): Promise<void> {
    try {
      await this.db.put(task.id, task);
    } catch (err) {
      throw unavailable(err);
    }
  }

  async delete(id: string): Promise<void> {
    try {
      await this.db.remove(id);
    } catch (err) {
      throw unavailable(err);
    }
  }

  async close(): Promise<void> {
    await this.db.flushed;
    await this.own?.close();
  }
}

function unavailable(err: unknown): ApiaryError {
  return new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, `the task store could not write: ${(err as Error).message}`, { cause: err });
}

function isTask(v: unknown): v is Task {
  const t = v as Partial<Task> | null;
  return (
    typeof t === 'object' &&
    t !== null &&
    typeof t.id === 'string' &&
    typeof t.queue === 'string' &&
    TASK_STATES.includes(t.state as never) &&
    typeof t.seq === 'number' &&
    typeof t.attempts === 'number' &&
    typeof t.runAt === 'number'
  );
}
