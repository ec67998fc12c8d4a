/**
 * Loading the peer libraries (nact, comedy, bullmq) that the bench compares against. They are
 * devDependencies: present in a checkout, usually absent where apiary-runtime is installed
 * as a package. A scenario asks {@link peerInstalled} before making a peer's subject and,
 * when it is missing, reports {@link notInstalled} instead of a row — never a crash.
 *
 * Owns: finding a peer (resolved from the package's own location, so a peer installed in the
 * app that depends on apiary-runtime is found too) and the "not installed" note. Does not own
 * driving the peer (nact.ts, comedy.ts). Main thread only; no time.
 */
import { createRequire } from 'node:module';
import type { BenchNote } from '../stats.js';

/** The peers and the versions the figures in bench/README.md were measured with (package.json devDependencies). */
export const PEER_VERSIONS = { nact: '7.6.2', comedy: '2.1.7', bullmq: '6.7.0' } as const;

export type PeerName = keyof typeof PEER_VERSIONS;

const require = createRequire(import.meta.url);

/** Whether `name` can be loaded from here (require.resolve; nothing is loaded). */
export function peerInstalled(name: PeerName): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** Loads a peer (CommonJS); throws MODULE_NOT_FOUND when it is not installed — ask {@link peerInstalled} first. */
export function loadPeer<T>(name: PeerName): T {
  return require(name) as T;
}

/** The note a scenario gives instead of a missing peer's rows. */
export function notInstalled(name: PeerName, scenario: string): BenchNote {
  return { scenario, system: name, note: `not installed, no figures (npm i -D ${name}@${PEER_VERSIONS[name]} to compare)` };
}
