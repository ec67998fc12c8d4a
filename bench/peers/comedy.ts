/**
 * comedy (https://github.com/untu/comedy) as a peer, in its `in-memory` mode (same thread)
 * and `threaded` mode (a worker thread per actor). comedy's tells (`send`) and asks
 * (`sendAndReceive`) are not ordered with each other, so completion is polled. Loaded when
 * a system is made, not on import: it may not be installed (load.ts; callers check
 * `peerInstalled('comedy')` first).
 */
import { pollCount, type Subject } from '../subject.js';
import { loadPeer } from './load.js';

interface ComedyRef {
  send(topic: string, ...args: unknown[]): Promise<void>;
  sendAndReceive(topic: string, ...args: unknown[]): Promise<unknown>;
  destroy(): Promise<void>;
}
interface ComedySystem {
  rootActor(): Promise<{ createChild(def: unknown, options: { mode: string }): Promise<ComedyRef> }>;
  destroy(): Promise<void>;
}

/**
 * comedy's version of BenchTarget. Threaded mode ships the class to the worker as source
 * text, so it must not refer to anything outside itself.
 */
class ComedyTarget {
  n = 0;
  ping(v: number): number {
    return v;
  }
  tick(): void {
    this.n++;
  }
  count(): number {
    return this.n;
  }
}

class ComedyIdle {
  ping(v: number): number {
    return v;
  }
}

export type ComedyMode = 'in-memory' | 'threaded';

function newSystem(): ComedySystem {
  return loadPeer<(options: object) => ComedySystem>('comedy')({ log: { level: 0 }, test: true });
}

export async function comedySubject(mode: ComedyMode): Promise<Subject> {
  const system = newSystem();
  const root = await system.rootActor();
  const actor = await root.createChild(ComedyTarget, { mode });
  return {
    system: 'comedy',
    ask: (v) => actor.sendAndReceive('ping', v),
    tell: (msg) => void actor.send('tick', msg),
    counted: (total) => pollCount(() => actor.sendAndReceive('count') as Promise<number>, total),
    stop: () => system.destroy(),
  };
}

/** Creates `n` idle in-memory children of the root actor, one after the other (comedy's createChild is async). */
export async function comedySpawner(): Promise<{ spawn(n: number): Promise<void>; stop(): Promise<void> }> {
  const system = newSystem();
  const root = await system.rootActor();
  const refs: ComedyRef[] = [];
  return {
    spawn: async (n) => {
      for (let i = 0; i < n; i++) refs.push(await root.createChild(ComedyIdle, { mode: 'in-memory' }));
    },
    stop: () => system.destroy(),
  };
}
