#!/usr/bin/env node
// The installed `apiary` command. npm links this file into node_modules/.bin (npx, npm
// scripts) or the global bin folder; it only hands the arguments to the compiled CLI, so the
// CLI runs the same whether node was started on this file, on a symlink to it or on a shim.
// A dynamic import, so a checkout that was never built says what to do.
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/runtime/cli/main.js', import.meta.url);
import(main.href).then(
  (cli) => cli.run(process.argv.slice(2)),
  (err) => {
    const missing = err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(fileURLToPath(main));
    process.stderr.write(`apiary: ${missing ? 'not built: run `npm run build` in the package first' : (err && err.message) || err}\n`);
    process.exit(1);
  },
);
