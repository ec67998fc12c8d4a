/**
 * nact (in-process actors, https://nact.io) as a peer. nact has no worker threads and no
 * remoting, so it takes part in the in-thread scenarios only; its supervision (`onCrash`
 * → `reset`) restarts an actor in place. Loaded when a subject is made, not on import: it
 * may not be installed (load.ts; callers check `peerInstalled('nact')` first).
 */
import { pollCount, type Subject } from '../subject.js';
import { loadPeer } from './load.js';

type Ref = object;
interface NactApi {
  start(): Ref;
  stop(ref: Ref): void;
  spawn(parent: Ref, f: (state: any, msg: any, ctx: any) => any, name?: string, props?: object): Ref;
  dispatch(actor: Ref, msg: unknown): void;
  query(actor: Ref, make: (sender: Ref) => unknown, timeout: number): Promise<unknown>;
}

interface TargetMsg {
  v?: number;
  count?: true;
  crash?: true;
  sender?: Ref;
}

/** nact's version of BenchTarget: a stateful actor (one message at a time, in order). */
function targetOf(nact: NactApi): (state: number | undefined, msg: TargetMsg) => number {
  return (state, msg) => {
    const n = state ?? 0;
    if (msg.crash) throw new Error('bench crash');
    if (msg.v !== undefined) {
      nact.dispatch(msg.sender!, msg.v);
      return n;
    }
    if (msg.count) {
      nact.dispatch(msg.sender!, n);
      return n;
    }
    return n + 1;
  };
}

export function nactSubject(): Subject {
  const nact = loadPeer<NactApi>('nact');
  const system = nact.start();
  const actor = nact.spawn(system, targetOf(nact), 'target');
  return {
    system: 'nact',
    ask: (v) => nact.query(actor, (sender) => ({ v, sender }), 120_000),
    tell: (msg) => nact.dispatch(actor, msg),
    counted: (total) => pollCount(() => nact.query(actor, (sender) => ({ count: true, sender }), 120_000) as Promise<number>, total),
    stop: async () => nact.stop(system),
  };
}

/** Spawns `n` idle actors; keeps them referenced until `stop`. */
export function nactSpawner(): { spawn(n: number): Promise<void>; stop(): void } {
  const nact = loadPeer<NactApi>('nact');
  const system = nact.start();
  const refs: Ref[] = [];
  const idle = (state: unknown): unknown => state;
  return {
    spawn: async (n) => {
      for (let i = 0; i < n; i++) refs.push(nact.spawn(system, idle, `idle-${refs.length}`)); // unnamed ones collide past ~10^5
    },
    stop: () => nact.stop(system),
  };
}

/** An actor restarted in place by nact's supervision; `crash()` then `ask()` answers again. */
export function nactCrasher(): { crash(): void; ask(v: number): Promise<unknown>; stop(): void } {
  const nact = loadPeer<NactApi>('nact');
  const system = nact.start();
  const actor = nact.spawn(system, targetOf(nact), 'crasher', { onCrash: (_m: unknown, _e: unknown, ctx: { reset: unknown }) => ctx.reset });
  return {
    crash: () => nact.dispatch(actor, { crash: true }),
    ask: (v) => nact.query(actor, (sender) => ({ v, sender }), 5000),
    stop: () => nact.stop(system),
  };
}
