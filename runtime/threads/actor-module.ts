/**
 * Where an actor class lives, so another thread can load it: its module URL and export name.
 *
 * Owns: resolving a class to `{ module, exportName }` (the class carries `static module =
 * import.meta.url`; the export is found by identity in that module) and loading a class
 * back from them. A class without `module`, a module that does not load, or a module that
 * does not export the class fails with `ERR_MODULE_NOT_FOUND`.
 */
import type { ActorClass } from '../../actors/actor.js';
import { Actor } from '../../actors/actor.js';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';

export interface ActorModuleRef {
  module: string;
  exportName: string;
}

const resolved = new WeakMap<ActorClass, ActorModuleRef>();

export async function actorModuleOf(actor: ActorClass): Promise<ActorModuleRef> {
  const cached = resolved.get(actor);
  if (cached) return cached;
  const url = actor.module;
  if (typeof url !== 'string' || url.length === 0) {
    throw new ApiaryError(
      ErrorCodes.MODULE_NOT_FOUND,
      `${actor.name || 'this actor class'} has no static 'module' (add: static readonly module = import.meta.url), so other threads cannot load it`,
      { field: 'module' },
    );
  }
  const mod = await importModule(url);
  const exportName = Object.keys(mod).find((k) => mod[k] === actor);
  if (exportName === undefined) {
    throw new ApiaryError(ErrorCodes.MODULE_NOT_FOUND, `${url} does not export ${actor.name || 'this actor class'}`, { field: 'module' });
  }
  const ref = { module: url, exportName };
  resolved.set(actor, ref);
  return ref;
}

export async function loadActorClass(ref: ActorModuleRef): Promise<ActorClass> {
  const mod = await importModule(ref.module);
  const cls = mod[ref.exportName];
  if (typeof cls !== 'function' || !(cls.prototype instanceof Actor)) {
    throw new ApiaryError(ErrorCodes.MODULE_NOT_FOUND, `${ref.module} has no Actor export '${ref.exportName}'`, { field: 'module' });
  }
  return cls as ActorClass;
}

async function importModule(url: string): Promise<Record<string, unknown>> {
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw new ApiaryError(ErrorCodes.MODULE_NOT_FOUND, `cannot load actor module ${url}: ${(err as Error).message}`, {
      field: 'module',
      cause: err,
    });
  }
}
