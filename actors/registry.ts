/**
 * Names: a registered name points at one live actor of this node.
 *
 * Owns: this thread's name → ref table. A name is released when its actor dies for good (a
 * restart under a supervisor keeps it). Registering a taken name throws `ERR_NAME_TAKEN`.
 * Does not own: the names of the node's other threads. Those come in through `elsewhere`
 * (the routes' copy, actors/routes.ts) — a lookup sees them after this thread's own — and
 * every change here goes out through `changed`, so the other threads learn of it.
 */
import { ApiaryError, ErrorCodes } from './foundation/errors.js';

/** How a registry reaches the names of the node's other threads (see Routes.lookupName / publishName). */
export interface RegistryLinks<R> {
  /** The ref registered under `name` on another thread of this node, as this thread last heard. */
  elsewhere?(name: string): R | undefined;
  /** `name` was registered to `ref` here (`live`), or released. */
  changed?(name: string, ref: R, live: boolean): void;
}

export class Registry<R> {
  private readonly byName = new Map<string, R>();

  constructor(private readonly links: RegistryLinks<R> = {}) {}

  /** Registers `name` here; throws `ERR_NAME_TAKEN` if this thread or (as far as it knows) another has it. */
  register(name: string, ref: R): void {
    if (typeof name !== 'string' || name.length === 0) {
      throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'a registered name must be a non-empty string', { field: 'name' });
    }
    if (this.byName.has(name) || this.links.elsewhere?.(name) !== undefined) {
      throw new ApiaryError(ErrorCodes.NAME_TAKEN, `name '${name}' is already registered`, { field: 'name' });
    }
    this.byName.set(name, ref);
    this.links.changed?.(name, ref, true);
  }

  /** Removes `name` if it still points at `ref` (or at anything, when `ref` is omitted). */
  unregister(name: string, ref?: R): boolean {
    const current = this.byName.get(name);
    if (current === undefined || (ref !== undefined && current !== ref)) return false;
    this.byName.delete(name);
    this.links.changed?.(name, current, false);
    return true;
  }

  /** The ref registered under `name` on this thread, else on another thread of this node (as last heard). */
  lookup(name: string): R | undefined {
    return this.byName.get(name) ?? this.links.elsewhere?.(name);
  }

  /** The ref registered under `name` on this thread only. */
  own(name: string): R | undefined {
    return this.byName.get(name);
  }

  /** This thread's names. */
  names(): string[] {
    return [...this.byName.keys()];
  }

  /** This thread's names and refs. */
  entries(): IterableIterator<[string, R]> {
    return this.byName.entries();
  }
}
