/**
 * Where an actor class lives, so another thread (or node) can load it: its module URL and
 * export name.
 *
 * Owns: resolving a class to `{ module, exportName }` (the class carries `static module =
 * import.meta.url`; the export is found by identity in that module) and loading a class
 * back from them, each bounded in time. A class without `module`, a module that does not load
 * (missing, or throws while loading), or a module that does not export the class fails with
 * `ERR_MODULE_NOT_FOUND`; a class defined in the app's entry module fails at once with
 * `ERR_ENTRY_MODULE` (another thread would run the whole app again to load it); a module that
 * does not finish loading in time fails with `ERR_MODULE_TIMEOUT`.
 * Does not own: which module loaders (tsx, …) a worker runs under (runtime/threads/module-hooks.ts).
 * Time: the caller's clock bounds each import; a timed-out import goes on in the background
 * (ES modules cannot be cancelled) and its late result is ignored.
 */
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ActorClass } from '../../actors/actor.js';
import { Actor } from '../../actors/actor.js';
import { RealClock, type Clock } from '../../actors/foundation/clock.js';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import { THREAD_DEFAULTS } from './thread-options.js';

export interface ActorModuleRef {
  module: string;
  exportName: string;
}

/** How long one module import may take, on which clock. */
export interface LoadWithin {
  ms: number;
  clock: Clock;
}

const resolved = new WeakMap<ActorClass, ActorModuleRef>();

/**
 * The module URL and export name of `actor`, for another thread or node to load it. Rejects
 * `ERR_MODULE_NOT_FOUND` (no `static module`, a module that does not load or does not export
 * the class), `ERR_ENTRY_MODULE` at once for a class defined in the app's entry module, and
 * `ERR_MODULE_TIMEOUT` if its module is still being evaluated after `within.ms` (default
 * `THREAD_DEFAULTS.createTimeoutMs` on a real clock): it awaits something at top level —
 * typically this very spawn.
 */
export async function actorModuleOf(actor: ActorClass, within?: LoadWithin): Promise<ActorModuleRef> {
  const cached = resolved.get(actor);
  if (cached) return cached;
  const url = actor.module;
  const name = actor.name || 'this actor class';
  if (typeof url !== 'string' || url.length === 0) {
    throw new ApiaryError(
      ErrorCodes.MODULE_NOT_FOUND,
      `${name} has no static 'module' (add: static readonly module = import.meta.url), so other threads cannot load it`,
      { field: 'module' },
    );
  }
  if (isEntryModule(url)) {
    throw new ApiaryError(
      ErrorCodes.ENTRY_MODULE,
      `${name} is defined in the app's entry module ${url}: another thread would have to import that module, ` +
        `which runs the whole app again. Move ${name} to a module of its own (e.g. ./agents.js) and import it from here`,
      { field: 'module' },
    );
  }
  const mod = await importModule(url, within ?? defaultWithin(), `${name}'s module ${url} is still being evaluated after`, 'does it spawn its own class at top level, with await? Move the class to a module of its own');
  const exportName = Object.keys(mod).find((k) => mod[k] === actor);
  if (exportName === undefined) {
    throw new ApiaryError(ErrorCodes.MODULE_NOT_FOUND, `${url} does not export ${name}`, { field: 'module' });
  }
  const ref = { module: url, exportName };
  resolved.set(actor, ref);
  return ref;
}

/**
 * Loads the class `ref` names (on a worker, or on a node asked to host it). Rejects
 * `ERR_MODULE_NOT_FOUND` (the module is missing, throws while loading, or has no such Actor
 * export) or `ERR_MODULE_TIMEOUT` when it does not finish loading within `within.ms` (default
 * `THREAD_DEFAULTS.createTimeoutMs` on a real clock).
 */
export async function loadActorClass(ref: ActorModuleRef, within?: LoadWithin): Promise<ActorClass> {
  const mod = await importModule(
    ref.module,
    within ?? defaultWithin(),
    `actor module ${ref.module} did not finish loading within`,
    'a top-level await that never settles? The thread keeps running; this spawn is abandoned',
  );
  const cls = mod[ref.exportName];
  if (typeof cls !== 'function' || !(cls.prototype instanceof Actor)) {
    throw new ApiaryError(ErrorCodes.MODULE_NOT_FOUND, `${ref.module} has no Actor export '${ref.exportName}'`, { field: 'module' });
  }
  return cls as ActorClass;
}

/**
 * Whether `url` is the module node was started with (`process.argv[1]`, symlinks resolved as
 * node resolves them; a worker thread sees its process's `argv[1]` too). False when there is
 * no entry file (a REPL, `node -e`) or it cannot be found.
 */
export function isEntryModule(url: string): boolean {
  const main = process.argv[1];
  if (!main || !url.startsWith('file:')) return false;
  const entry = realPath(main) ?? resolvedMain(main);
  if (entry === undefined) return false;
  let path: string;
  try {
    path = fileURLToPath(url);
  } catch {
    return false;
  }
  return (realPath(path) ?? path) === entry;
}

function realPath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/** `node app` (no extension) names app.js etc., found the way node finds its main module. */
function resolvedMain(main: string): string | undefined {
  try {
    return realPath(createRequire(pathToFileURL(main)).resolve(main));
  } catch {
    return undefined;
  }
}

function defaultWithin(): LoadWithin {
  return { ms: THREAD_DEFAULTS.createTimeoutMs, clock: new RealClock() };
}

async function importModule(url: string, within: LoadWithin, late: string, hint: string): Promise<Record<string, unknown>> {
  const loading = (async () => {
    try {
      return (await import(url)) as Record<string, unknown>;
    } catch (err) {
      throw new ApiaryError(ErrorCodes.MODULE_NOT_FOUND, `cannot load actor module ${url}: ${(err as Error).message}`, {
        field: 'module',
        cause: err,
      });
    }
  })();
  let timer: ReturnType<Clock['setTimeout']> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = within.clock.setTimeout(
      () => reject(new ApiaryError(ErrorCodes.MODULE_TIMEOUT, `${late} ${within.ms} ms (${hint})`, { field: 'module' })),
      within.ms,
    );
  });
  // the import may still fail after the timeout: nobody waits for it any more
  loading.catch(() => {});
  try {
    return await Promise.race([loading, timeout]);
  } finally {
    within.clock.clearTimeout(timer);
  }
}
