/**
 * storeOf: the one place a persistent actor finds its store — so whatever way a thread comes
 * to have a store (thread 0: the ActorSystem's `store` option; a worker thread: what its
 * worker host was given), only this function changes.
 *
 * Owns: the lookup order — a store passed explicitly (a `store` in the spawn args, same
 * thread only: unit tests), then the store of the actor's thread (its Host's `store`).
 * Does not own: opening stores (open-store.ts), or what they promise (store.ts).
 * Threads: called on the actor's thread, once per incarnation (at recovery).
 */
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import type { ActorContext } from '../../actors/actor.js';
import { CellContext } from '../../actors/actor-context.js';
import type { Store } from './store.js';

/** True if `value` looks like an opened {@link Store} (has the journal and state methods). */
export function isStore(value: unknown): value is Store {
  if (value === null || typeof value !== 'object') return false;
  const s = value as Partial<Record<keyof Store, unknown>>;
  return typeof s.claim === 'function' && typeof s.append === 'function' && typeof s.claimState === 'function' && typeof s.saveState === 'function';
}

/**
 * The store of the actor behind `context`: `explicit` when given, else its thread's store.
 * Throws `ERR_STORE_UNAVAILABLE` when there is none (the node was started without a store),
 * so a persistent actor fails to start rather than running on nothing.
 */
export function storeOf(context: ActorContext, explicit?: Store): Store {
  if (explicit !== undefined) return explicit;
  const store = CellContext.cellOf(context).host.store();
  if (isStore(store)) return store;
  throw new ApiaryError(
    ErrorCodes.STORE_UNAVAILABLE,
    `${context.path}: this thread has no persistence store (give the ActorSystem a \`store\`, or \`apiary start --store\`)`,
  );
}
