/**
 * `apiary config [--config FILE] [start's flags] [--json]`: the config `apiary start` would
 * run with — every value and where it came from (flag, env, file, default), secrets masked.
 *
 * Owns: the verb's output and exit code: 0, or 2 with one line per bad field.
 * Does not own: resolving (runtime/config/resolve.ts) or rendering (runtime/config/render.ts).
 */
import { ConfigError } from '../config/config-error.js';
import { configReport, renderConfig } from '../config/render.js';
import { resolveConfig } from '../config/resolve.js';

/** Prints the effective config; resolves with the exit code (2: invalid config, the issues on stderr, and as JSON with `--json`). */
export async function configCommand(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const cwd = process.cwd();
  try {
    const resolved = await resolveConfig({ argv: argv.filter((a) => a !== '--json'), env: process.env, cwd });
    console.log(json ? JSON.stringify(configReport(resolved), null, 2) : renderConfig(resolved, cwd));
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (json) console.log(JSON.stringify({ error: { code: err.code, issues: err.issues } }, null, 2));
    process.stderr.write(`apiary: ${err.message}\n`);
    return 2;
  }
}
