/**
 * Local names: a registered name points at one live actor of this node.
 *
 * Owns: the name → ref table. A name is released when its actor dies for good (a restart
 * under a supervisor keeps it). Registering a taken name throws `ERR_NAME_TAKEN`.
 */
import { ApiaryError, ErrorCodes } from './foundation/errors.js';

export class Registry<R> {
  private readonly byName = new Map<string, R>();

  register(name: string, ref: R): void {
    if (typeof name !== 'string' || name.length === 0) {
      throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'a registered name must be a non-empty string', { field: 'name' });
    }
    if (this.byName.has(name)) {
      throw new ApiaryError(ErrorCodes.NAME_TAKEN, `name '${name}' is already registered`, { field: 'name' });
    }
    this.byName.set(name, ref);
  }

  /** Removes `name` if it still points at `ref` (or at anything, when `ref` is omitted). */
  unregister(name: string, ref?: R): boolean {
    if (ref !== undefined && this.byName.get(name) !== ref) return false;
    return this.byName.delete(name);
  }

  lookup(name: string): R | undefined {
    return this.byName.get(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }
}
