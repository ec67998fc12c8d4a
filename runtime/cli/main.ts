/**
 * The `apiary` command (a contract: README, docs/architecture.md): picks the verb, answers `--help` and `--version`, and
 * turns every failure into one line on stderr and an exit code — 0 success, 1 runtime
 * failure, 2 bad usage (an unknown verb or flag, a bad value) or not available (yet).
 *
 *   apiary start  [--config FILE] [--name NAME] [--threads N] [--listen HOST:PORT]
 *                 [--http HOST:PORT] [--seeds ws(s)://…] [--secret-file FILE] [--admin-token-file F]
 *                 [--tls-cert F --tls-key F [--tls-ca F]] [--insecure] [--store lmdb[:DIR]|redis://HOST:PORT]
 *   apiary tree   [--http HOST:PORT] [--admin-token-file F] [--json] [--watch]
 *   apiary kill   PATH [--http HOST:PORT] [--admin-token-file F] [--reason TEXT]
 *   apiary status [--http HOST:PORT] [--admin-token-file F] [--json]
 *   apiary bench  [SCENARIO...] [--json] [--quick] [--out FILE]
 *   apiary bench  --http HOST:PORT [--admin-token-file F] [--path PATH] [--message JSON] [--kill] [--json] [--quick]
 *   apiary backup --out FILE (--store lmdb:DIR | --name NODE)
 *   apiary restore FILE (--store lmdb:DIR | --name NODE)
 *
 * Owns: dispatch, help, version, error lines and exit codes. Does not own what a verb does
 * (one file per verb here; bench/ is reached by dynamic import) or how a node stops on
 * signals (runtime/node/signals.ts). The installed `apiary` bin (bin/apiary.js) imports
 * this module and calls {@link run}; `node dist/runtime/cli/main.js` runs it directly too.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { packageInfo } from './package-info.js';
import { inspectTree, killActor, status } from './inspect.js';
import { start } from './start.js';
import { configCommand } from './config.js';
import { CliError, USAGE, UsageError, VERB_USAGE, type Verb } from './usage.js';

/** What each verb runs: resolves with its exit code, or -1 when it keeps running (start). */
const VERBS: Record<Verb, (argv: string[]) => Promise<number>> = {
  start: async (argv) => {
    await start(argv);
    return -1; // keeps running until a signal
  },
  tree: async (argv) => {
    await inspectTree(argv);
    return 0;
  },
  kill: async (argv) => {
    await killActor(argv);
    return 0;
  },
  status: async (argv) => {
    await status(argv);
    return 0;
  },
  bench: async (argv) => {
    const { runBench } = await import('../../bench/run.js');
    await runBench(argv);
    return 0;
  },
  doctor: async (argv) => (await import('./doctor.js')).doctor(argv),
  config: (argv) => configCommand(argv),
  backup: async (argv) => (await import('./backup.js')).backup(argv),
  restore: async (argv) => (await import('./backup.js')).restore(argv),
};

function isVerb(word: string): word is Verb {
  return Object.hasOwn(VERBS, word);
}

/** parseArgs' errors (ERR_PARSE_ARGS_*) as one short usage line naming the verb. */
function asUsageError(verb: Verb, err: unknown): unknown {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) return err;
  // e.g. "Unknown option '--frob'. To specify a positional argument …": the first sentence
  const first = ((err as Error).message.split(/\.\s/)[0] ?? '').trim();
  return new UsageError(`${verb}: ${first.charAt(0).toLowerCase()}${first.slice(1)} (see apiary ${verb} --help)`);
}

/**
 * Runs one `apiary` command. Resolves with the exit code, or -1 for `start` (the node runs
 * until a signal stops it); rejects with a CliError (exit 1, or 2 when it is about usage)
 * or any other error (exit 1). Prints help on stdout; prints nothing on failure (see {@link run}).
 */
export async function main(argv: string[]): Promise<number> {
  const [word, ...rest] = argv;
  if (word === undefined) throw new UsageError('no command given (see apiary --help)');
  if (word === '--help' || word === '-h' || word === 'help') {
    const topic = rest[0];
    if (topic !== undefined && !isVerb(topic)) throw new UsageError(`unknown command '${topic}' (see apiary --help)`);
    console.log(topic === undefined ? USAGE : VERB_USAGE[topic]);
    return 0;
  }
  if (word === '--version' || word === '-v') {
    console.log(packageInfo().version);
    return 0;
  }
  if (word.startsWith('-')) throw new UsageError(`unknown option '${word}' (see apiary --help)`);
  if (!isVerb(word)) throw new UsageError(`unknown command '${word}' (see apiary --help)`);
  const end = rest.indexOf('--');
  const flags = end === -1 ? rest : rest.slice(0, end);
  if (flags.includes('--help') || flags.includes('-h')) {
    console.log(VERB_USAGE[word]);
    return 0;
  }
  try {
    return await VERBS[word](rest);
  } catch (err) {
    throw asUsageError(word, err);
  }
}

/** The exit code for an error that reached the top: 2 for bad usage, 1 for anything else. */
export function exitCodeOf(err: unknown): 1 | 2 {
  if (err instanceof CliError) return err.usage ? 2 : 1;
  const code = (err as { code?: unknown } | undefined)?.code;
  // a bad value caught by the runtime's own checks (e.g. parseHostPort for --http)
  return code === 'ERR_INVALID_ARGUMENT' ? 2 : 1;
}

/**
 * Runs the command as a process: exits with its code when it is done (not for `start`,
 * which ends on a signal), or prints one line `apiary: <reason>` on stderr and exits 1 or 2.
 */
export function run(argv: string[]): void {
  main(argv).then(
    (code) => {
      if (code >= 0) process.exit(code);
    },
    (err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      const text = err instanceof CliError && err.list ? message.trimEnd() : message.replace(/\s*\n\s*/g, ' ').trim();
      process.stderr.write(`apiary: ${text}\n`);
      process.exit(exitCodeOf(err));
    },
  );
}

/** True when node was started on this file (directly, or through a symlink to it). */
function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) run(process.argv.slice(2));
