#!/usr/bin/env node
/**
 * The `apiary` command (DESIGN §4).
 *
 *   apiary start [--config FILE] [--name NAME] [--threads N] [--listen HOST:PORT]
 *                [--http HOST:PORT] [--seeds ws://…] [--secret-file FILE]
 *   apiary bench [SCENARIO...] [--json] [--quick]
 *   apiary bench --http HOST:PORT [--path PATH] [--message JSON] [--json] [--quick]
 *   apiary tree   [--http HOST:PORT] [--json] [--watch]
 *   apiary kill   PATH [--http HOST:PORT] [--reason TEXT]
 *   apiary status [--http HOST:PORT] [--json]
 *
 * Owns: argument parsing, one-line errors (no stack traces) and exit codes:
 * 0 success, 1 runtime failure, 2 bad usage or not available (yet).
 * Does not own: what a node runs (the config module or examples/demo-swarm.ts) or how it
 * stops on signals (runtime/node/signals.ts); each verb lives in its own file here.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inspectTree, killActor, status } from './inspect.js';
import { start } from './start.js';
import { configCommand } from './config.js';
import { CliError, UsageError } from './usage.js';

const USAGE = `usage:
  apiary start [--config FILE] [--name NAME] [--threads N] [--listen HOST:PORT]
               [--http HOST:PORT] [--seeds ws://HOST:PORT,...] [--secret-file FILE]
  apiary bench [SCENARIO...] [--json] [--quick]
  apiary bench --http HOST:PORT [--path PATH] [--message JSON] [--json] [--quick]
  apiary tree   [--http HOST:PORT] [--json] [--watch]
  apiary kill   PATH [--http HOST:PORT] [--reason TEXT]
  apiary status [--http HOST:PORT] [--json]
  apiary config [--config FILE] [start's flags] [--json]

With no --config (and no apiary.config.js/.mjs here), start runs the demo swarm.`;

async function bench(argv: string[]): Promise<void> {
  const { runBench } = await import('../../bench/run.js');
  await runBench(argv);
}

/**
 * Runs one `apiary` command. Resolves with the exit code, or -1 for `start` (the node runs
 * until a signal stops it); rejects with a UsageError (exit 2) or any other error (exit 1).
 */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== undefined && !command.startsWith('-') && (rest.includes('--help') || rest.includes('-h'))) {
    console.log(USAGE);
    return 0;
  }
  switch (command) {
    case 'start':
      await start(rest);
      return -1; // keeps running until a signal
    case 'config':
      return configCommand(rest);
    case 'bench':
      await bench(rest);
      return 0;
    case 'tree':
      await inspectTree(rest);
      return 0;
    case 'kill':
      await killActor(rest);
      return 0;
    case 'status':
      await status(rest);
      return 0;
    case '--help':
    case '-h':
    case 'help':
      console.log(USAGE);
      return 0;
    case undefined:
      process.stderr.write(`${USAGE}\n`);
      return 2;
    default:
      throw new UsageError(`unknown command '${command}'\n${USAGE}`);
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exit(code);
    },
    (err: unknown) => {
      const code = (err as { code?: unknown })?.code;
      // node:util parseArgs rejects bad flags with ERR_PARSE_ARGS_* codes
      const usage =
        (err instanceof CliError && err.usage) ||
        (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) ||
        code === 'ERR_INVALID_ARGUMENT';
      process.stderr.write(`apiary: ${(err as Error)?.message ?? String(err)}\n`);
      process.exit(usage ? 2 : 1);
    },
  );
}
