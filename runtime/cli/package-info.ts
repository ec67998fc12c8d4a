/**
 * The package.json of the installed apiary package (or of this checkout): found by walking
 * up from this file to the first package.json named `apiary-runtime`, read once.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PackageInfo {
  version: string;
  /** `engines.node`, if it says. */
  nodeRange: string | undefined;
}

let cached: PackageInfo | undefined;

/** This package's version and Node.js range; version `unknown` if no package.json is found. */
export function packageInfo(): PackageInfo {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string; engines?: { node?: string } };
        if (pkg.name === 'apiary-runtime' && pkg.version !== undefined) return (cached = { version: pkg.version, nodeRange: pkg.engines?.node });
      } catch {
        // not ours, or unreadable: keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) return (cached = { version: 'unknown', nodeRange: undefined });
    dir = up;
  }
}
