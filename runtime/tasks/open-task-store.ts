/**
 * Opens the task store that goes with the node's store spec (runtime/persistence/store.ts):
 * `lmdb` → the `apiary-tasks` database of the node's LMDB environment (pass the opened root to
 * share it; else one is opened in `spec.dir`), `redis` → the same server and prefix (pass the
 * node's ioredis client to copy its connection settings), `memory` → a memory task store.
 *
 * Owns: the choice only. Does not own opening the node's store (runtime/persistence/).
 * Rejects like the backends: `ERR_STORE_UNAVAILABLE`, `ERR_STORE_CORRUPT`.
 */
import type { Clock } from '../../actors/foundation/clock.js';
import type { SystemEvent } from '../../actors/events.js';
import { LmdbStore, type LmdbRoot } from '../persistence/lmdb-store.js';
import type { RedisConnection } from '../persistence/redis-store.js';
import type { Store, StoreSpec } from '../persistence/store.js';
import { createTaskQueue, type TaskQueue } from './task-queue.js';
import { createMemoryTaskStore } from './local-task-store.js';
import { openLmdbTaskStore } from './lmdb-task-store.js';
import { openRedisTaskStore } from './redis-task-store.js';
import type { TaskStore } from './task-store.js';

/** What the node already opened, to share. */
export interface SharedStoreHandles {
  /** The node's LMDB environment (opened with room for one more named database). */
  lmdbRoot?: LmdbRoot;
  /** The node's Redis client (the task store duplicates it: its own connection, no offline queue). */
  redis?: RedisConnection;
}

/** The task store for `spec`. */
export function openTaskStore(spec: StoreSpec, shared: SharedStoreHandles = {}): Promise<TaskStore> {
  if (spec.kind === 'lmdb') return openLmdbTaskStore(shared.lmdbRoot !== undefined ? { root: shared.lmdbRoot } : { dir: spec.dir });
  if (spec.kind === 'redis') return openRedisTaskStore({ redis: shared.redis ?? spec.url, ...(spec.prefix === undefined ? {} : { prefix: spec.prefix }) });
  return Promise.resolve(createMemoryTaskStore());
}

/**
 * The task queue of a node with a store (`apiary start --store`, the ActorSystem `store`
 * option): its tasks in the same LMDB environment (database `apiary-tasks`, sharing its group
 * commits) or on the same Redis server and prefix; task events on the system's `events$`.
 * The caller closes it before the system stops (the system closes the store).
 */
export async function openNodeTaskQueue(system: { store: Store; clock: Clock; publish(e: SystemEvent): void; name?: string }): Promise<TaskQueue> {
  const store = system.store;
  const taskStore = await openTaskStore(store.spec, store instanceof LmdbStore ? { lmdbRoot: store.lmdbRoot } : {});
  return createTaskQueue({ store: taskStore, system });
}
