/**
 * The module loaders an app runs under, applied again inside each worker thread, so a worker
 * loads the app's actor modules the way the main thread does (TypeScript under tsx).
 *
 * Why: a worker inherits the process's `execArgv`, so an `--import` preload runs in it too —
 * but tsx's preload (`node --import tsx app.ts`, and the `tsx app.ts` CLI, which starts node
 * with `--import …/tsx/dist/loader.mjs`) registers its hooks with `module.register` on the
 * main thread only on Node 20 (and, per tsx 4.23's own version table, on 22 before 22.22.3),
 * and hooks registered on one thread do not reach the others (each thread has its own loader
 * chain). So a worker failed `import('./agent.ts')` with `Unknown file extension ".ts"`.
 * Owns: finding tsx's preload among the process's options (`execArgv`, `NODE_OPTIONS`) and
 * registering tsx's ESM hooks (`tsx/esm`, resolved from where that preload was, i.e. the
 * app's own tsx: apiary never imports tsx) in the current worker; plus the hooks the app
 * names in `ThreadOptions.moduleHooks` (loaders it registered from code, which no option shows).
 * Where tsx registers itself in workers too (newer Node), its hooks run twice there; two
 * registrations load `.ts` fine on Node 20 (not tried on newer Node).
 * Costs nothing without tsx (a scan of a few strings); under tsx, one hooks thread per worker,
 * started while the worker loads — before it is given any work, so spares pay it up front.
 * Threads: called on a worker thread, before any actor module is imported there (a module
 * that failed to load once stays failed in that thread's module map).
 */
import module from 'node:module';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';

/** A loader to register in a worker: `module.register(specifier, { parentURL, data })`. */
export interface WorkerModuleHook {
  specifier: string;
  parentURL: string;
  data: unknown;
}

/** `--import X` / `--import=X` values, in order, from node options. */
export function importPreloads(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--import' && i + 1 < args.length) out.push(args[++i]!);
    else if (a.startsWith('--import=')) out.push(a.slice('--import='.length));
  }
  return out;
}

/** Splits `NODE_OPTIONS` as node does for the common cases (spaces; double quotes group). */
export function nodeOptionsArgs(nodeOptions: string | undefined): string[] {
  if (!nodeOptions) return [];
  return [...nodeOptions.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] ?? m[2])!.replace(/\\(.)/g, '$1'));
}

const TSX_LOADER_FILE = /[\\/]tsx[\\/]dist[\\/](?:loader|esm[\\/]index)\.mjs$/;

/**
 * The hooks a worker must register itself: tsx's ESM hooks when a tsx preload (`tsx`,
 * `tsx/esm`, or tsx's own loader file as its CLI passes it) is among `args`; else none.
 */
export function workerModuleHooks(args: readonly string[], cwd: string): WorkerModuleHook[] {
  const cwdURL = pathToFileURL(cwd.endsWith('/') ? cwd : `${cwd}/`).href;
  for (const preload of importPreloads(args)) {
    if (preload === 'tsx' || preload === 'tsx/esm') {
      // `--import` resolves bare specifiers from the working directory
      return [{ specifier: 'tsx/esm', parentURL: cwdURL, data: {} }];
    }
    const path = preload.startsWith('file:') ? new URL(preload).pathname : preload;
    if (TSX_LOADER_FILE.test(path)) {
      const loaderURL = preload.startsWith('file:') ? preload : isAbsolute(preload) ? pathToFileURL(preload).href : new URL(preload, cwdURL).href;
      // tsx/esm resolved from tsx's own file is that same tsx
      return [{ specifier: 'tsx/esm', parentURL: loaderURL, data: {} }];
    }
  }
  return [];
}

/**
 * Registers in this worker the hooks {@link workerModuleHooks} finds in the process's options,
 * then `extra` (ThreadOptions.moduleHooks). Throws (so the worker fails to boot, with the
 * reason) if one cannot be registered.
 */
export function applyWorkerModuleHooks(extra: readonly WorkerModuleHook[]): void {
  const args = [...nodeOptionsArgs(process.env.NODE_OPTIONS), ...process.execArgv];
  const hooks = [...workerModuleHooks(args, process.cwd()), ...extra];
  // module.register arrived in Node 20.6; tsx's --import preload needs it too
  if (hooks.length === 0 || typeof module.register !== 'function') return;
  for (const hook of hooks) {
    try {
      module.register(hook.specifier, { parentURL: hook.parentURL, data: hook.data });
    } catch (err) {
      throw new Error(`worker thread: cannot register the app's module loader ${hook.specifier} (from ${hook.parentURL}): ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}
