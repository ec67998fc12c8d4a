/**
 * Pool routers: a supervised set of identical routees behind one router that grows toward
 * `max` when the routees' mailboxes (plus asks in flight) run deep and shrinks toward `min`
 * when they have all been idle for a while (Akka's resizable pools).
 *
 * Owns: the supervisor spec (routees under a `simple-one-for-one` supervisor, so a crashed
 * routee restarts in place behind the same ref; the router beside it) and the resize
 * decision ({@link resizeDecision}, pure). Does not own: routing (router.ts).
 * Time: resize checks are actor timers on the system clock. Threads: the router and its
 * supervisor live on the main thread; routees wherever their `thread` says.
 */
import type { ActorClass } from '../actors/actor.js';
import type { ActorRef } from '../actors/actor-ref.js';
import { supervisor, type SupervisorSpec } from '../supervisor/child-spec.js';
import { SupervisorRef } from '../supervisor/supervisor-ref.js';
import { check } from './abort.js';
import { DEFAULTS } from './defaults.js';
import { RouterActor, type RouterControl, type RouterOptions } from './router.js';
import type { RouteeView } from './router-strategies.js';

export interface PoolRouterOptions<M = unknown> extends Omit<RouterOptions<M>, 'routees' | 'weights'> {
  /** Registers the router under this name (the routees' supervisor under `<name>:routees`). */
  name: string;
  actor: ActorClass;
  /** Constructor argument of every routee. */
  args?: unknown;
  /** Where routees run (`auto`: the least loaded worker thread). */
  thread?: number | 'auto';
  min: number;
  max: number;
  /** Grow when the routees' average mailbox + in-flight reaches this. Default 4. */
  growAtMailbox?: number;
  /** Shrink (one routee per check) after every routee has been idle this long, ms. Default 10 000. */
  shrinkAfterIdleMs?: number;
  /** ms between resize checks. Default 1000. */
  checkMs?: number;
}

/**
 * The resize step: +1 when the average load reaches `growAt` and there is room, −1 when the
 * pool has been idle (`idleFor` ms) for `shrinkAfter` and is above `min`, else 0.
 */
export function resizeDecision(views: readonly RouteeView[], o: { min: number; max: number; growAt: number; shrinkAfter: number }, idleFor: number): -1 | 0 | 1 {
  const n = views.length;
  if (n < o.min) return 1;
  const load = views.reduce((s, v) => s + v.mailbox + v.inFlight, 0);
  if (n < o.max && n > 0 && load / n >= o.growAt) return 1;
  if (n > o.min && load === 0 && idleFor >= o.shrinkAfter) return -1;
  return 0;
}

/**
 * The supervisor spec of a pool router: spawn it (`system.spawn(poolRouter({...}))`) and
 * talk to `system.lookup(name)`. `min` routees start with it. Rejects bad sizes with
 * `ERR_INVALID_ARGUMENT`.
 */
export function poolRouter<M>(options: PoolRouterOptions<M>): SupervisorSpec {
  check(Number.isInteger(options.min) && options.min >= 1, 'min', 'must be an integer ≥ 1');
  check(Number.isInteger(options.max) && options.max >= options.min, 'max', 'must be an integer ≥ min');
  const routees = `${options.name}:routees`;
  return supervisor({
    strategy: 'one-for-all',
    intensity: 5,
    period: 10_000,
    children: [
      {
        id: 'routees',
        name: routees,
        actor: supervisor({
          strategy: 'simple-one-for-one',
          intensity: 20,
          period: 10_000,
          template: { actor: options.actor, ...(options.thread !== undefined ? { thread: options.thread } : {}) },
        }),
      },
      { id: 'router', name: options.name, actor: PoolRouterActor, args: { ...options, routeesName: routees } },
    ],
  });
}

type PoolMessage = { type: 'pool:check' } | { type: 'pool:size' };

/** The router of a pool: a RouterActor that also starts, adds and retires routees. */
export class PoolRouterActor<M = unknown, R = unknown> extends RouterActor<M, R> {
  private sup!: SupervisorRef;
  private idleSince: number | undefined;
  private readonly o: PoolRouterOptions<M> & { routeesName: string };

  constructor(options: PoolRouterOptions<M> & { routeesName: string }) {
    super({ ...options, routees: [] });
    this.o = options;
  }

  override async started(): Promise<void> {
    const ref = this.context.lookup(this.o.routeesName);
    if (ref === undefined) throw new Error(`${this.o.routeesName} is not running`);
    this.sup = SupervisorRef.of(ref);
    for (let i = 0; i < this.o.min; i++) await this.grow();
    this.context.scheduleOnce(this.o.checkMs ?? DEFAULTS.pool.checkMs, { type: 'pool:check' });
  }

  override receive(message: M | RouterControl | PoolMessage): unknown {
    const type = (message as { type?: unknown } | null)?.type;
    if (type === 'pool:size') return this.router.routees.length;
    if (type === 'pool:check') return this.check();
    return super.receive(message as M | RouterControl);
  }

  private async check(): Promise<void> {
    const now = this.context.clock.now();
    const views = this.router.views();
    const busy = views.some((v) => v.mailbox + v.inFlight > 0);
    if (busy) this.idleSince = undefined;
    else this.idleSince ??= now;
    const step = resizeDecision(
      views,
      {
        min: this.o.min,
        max: this.o.max,
        growAt: this.o.growAtMailbox ?? DEFAULTS.pool.growAtMailbox,
        shrinkAfter: this.o.shrinkAfterIdleMs ?? DEFAULTS.pool.shrinkAfterIdleMs,
      },
      this.idleSince === undefined ? 0 : now - this.idleSince,
    );
    try {
      if (step > 0) await this.grow();
      if (step < 0) await this.shrink();
    } finally {
      this.context.scheduleOnce(this.o.checkMs ?? DEFAULTS.pool.checkMs, { type: 'pool:check' });
    }
  }

  private async grow(): Promise<void> {
    const ref = await this.sup.startChild(this.o.args);
    this.router.add(ref as ActorRef<M, any>);
  }

  private async shrink(): Promise<void> {
    const last = this.router.routees.at(-1);
    if (last === undefined) return;
    this.router.remove(last);
    await this.sup.terminateChild(last);
  }
}
