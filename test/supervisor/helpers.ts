/**
 * Shared fixtures for supervision tests: a manual-clock system, an event recorder and a
 * Probe actor that logs its lifecycle into a per-test journal.
 */
import type { Subscription } from 'rxjs';
import { Actor, ActorSystem, ManualClock, type ActorRef, type ExitReason, type SupervisorRef, type SystemEvent } from '../../index.js';

export interface Harness {
  system: ActorSystem;
  clock: ManualClock;
  events: SystemEvent[];
  journal: string[];
  /** Lets every runnable actor run (no real time passes). */
  settle(): Promise<void>;
  /** Advances manual time and lets actors react. */
  advance(ms: number): Promise<void>;
  dispose(): Promise<void>;
}

let current: Harness | undefined;

export function harness(): Harness {
  const clock = new ManualClock();
  const system = new ActorSystem({ name: 'test', clock });
  const events: SystemEvent[] = [];
  const journal: string[] = [];
  const sub: Subscription = system.events$.subscribe((e) => events.push(e));
  const h: Harness = {
    system,
    clock,
    events,
    journal,
    settle: () => system.whenIdle(),
    async advance(ms) {
      clock.advance(ms);
      await system.whenIdle();
    },
    async dispose() {
      const stopping = system.stop();
      // shutdown timers of stubborn children run on manual time
      for (let i = 0; i < 100 && clock.pendingTimers > 0; i++) {
        clock.advance(60_000);
        await system.whenIdle();
      }
      await stopping;
      sub.unsubscribe();
      current = undefined;
    },
  };
  current = h;
  return h;
}

export type ProbeMsg =
  | { type: 'ping' }
  | { type: 'exit'; reason: ExitReason }
  | { type: 'throw'; message: string }
  | { type: 'incarnation' }
  | { type: 'add'; n: number }
  | { type: 'get' };

export interface ProbeArgs {
  /** Throw from `started` when this returns true (given the incarnation about to start). */
  failStart?: (incarnation: number) => boolean;
  /** Never finish `stopping` (a child that ignores stop). */
  ignoreStop?: boolean;
}

/** Logs `start:<id>` / `stop:<id>` / `start-failed:<id>` to the harness journal. */
export class Probe extends Actor<ProbeMsg, unknown> {
  private total = 0;
  constructor(private readonly args: ProbeArgs = {}) {
    super();
  }

  private get id(): string {
    return this.context.path.slice(this.context.path.lastIndexOf('/') + 1);
  }

  override started(): void {
    if (this.args.failStart?.(this.context.incarnation)) {
      current?.journal.push(`start-failed:${this.id}`);
      throw new Error(`${this.id} refuses to start`);
    }
    current?.journal.push(`start:${this.id}`);
  }

  override stopping(): void | Promise<void> {
    current?.journal.push(`stop:${this.id}`);
    if (this.args.ignoreStop) return new Promise<void>(() => {});
  }

  override beforeRestart(): void {
    current?.journal.push(`stop:${this.id}`);
  }

  receive(msg: ProbeMsg): unknown {
    switch (msg.type) {
      case 'ping':
        return 'pong';
      case 'exit':
        this.context.stop(msg.reason);
        return undefined;
      case 'throw':
        throw new Error(msg.message);
      case 'incarnation':
        return this.context.incarnation;
      case 'add':
        this.total += msg.n;
        return this.total;
      case 'get':
        return this.total;
    }
  }
}

export function ofType<T extends SystemEvent['type']>(events: SystemEvent[], type: T): Extract<SystemEvent, { type: T }>[] {
  return events.filter((e): e is Extract<SystemEvent, { type: T }> => e.type === type);
}

export function child(id: string, extra: Record<string, unknown> = {}) {
  return { id, actor: Probe, ...extra };
}

/** The ref of a supervisor's running child `id` (throws if it is not running). */
export async function refOf(sup: SupervisorRef, id: string): Promise<ActorRef<ProbeMsg, unknown>> {
  const info = (await sup.whichChildren()).find((c) => c.id === id);
  if (!info?.ref) throw new Error(`no running child ${id}`);
  return info.ref as ActorRef<ProbeMsg, unknown>;
}
