/**
 * Clustered ActorSystems in this test process, over real WebSockets on 127.0.0.1: `node()`
 * makes and readies one (joining the given seeds), every node is stopped after each test
 * (last made first); `until()` waits for a condition, bounded.
 */
import { afterEach } from 'vitest';
import { ActorSystem, type Store } from '../../dist/index.js';
import { until as pollUntil } from './cluster-driver.js';

const secret = new TextEncoder().encode('in-process cluster secret, 32 b..');

export function inProcessCluster() {
  const systems: ActorSystem[] = [];
  afterEach(async () => {
    await Promise.all(systems.splice(0).reverse().map((s) => s.stop()));
  });
  return {
    /** A clustered node named `name`; keep it stopped by the cleanup (`track` it if made elsewhere). */
    async node(name: string, options: { seeds?: ActorSystem[]; store?: Store; threads?: number } = {}): Promise<ActorSystem> {
      const s = new ActorSystem({
        name,
        threads: options.threads ?? 0,
        ...(options.store === undefined ? {} : { store: options.store }),
        cluster: { listen: { host: '127.0.0.1', port: 0 }, seeds: (options.seeds ?? []).map((x) => x.cluster!.url), secret },
      });
      systems.push(s);
      await s.ready();
      return s;
    },
    /** Stops `system` with the others after the test. */
    track(system: ActorSystem): ActorSystem {
      systems.push(system);
      return system;
    },
  };
}

/** Resolves once `check` holds (polled every 20 ms); throws naming `what` after `ms`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  await pollUntil(async () => await check(), (ok) => ok, ms, what, 20);
}
