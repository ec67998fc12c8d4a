/**
 * Routers: one ref in front of many routees (local actors, actors on other threads or —
 * through the same ActorRef API — other nodes, or a piscina pool ref).
 *
 * Owns: the routee list and what the strategies need about each (in-flight asks, latency
 * EWMA, a breaker per routee when asked for), picking one per message and sending it there
 * (`tell`, or `ask` with the asker's signal passed on). Health-aware routing skips routees
 * whose breaker is open or whose `healthOf` says `critical` (`ERR_NO_ROUTEE` when none is left).
 * The {@link RouterActor} answers asks with `replyLater`, so routed asks overlap.
 * Does not own: the routees' lives (a pool router's supervisor does, pool-router.ts).
 * Time: the given clock (RTTs, breakers). Threads: a router lives on one thread.
 */
import { Actor } from '../actors/actor.js';
import type { ActorRef, AskOptions, TellOptions } from '../actors/actor-ref.js';
import { formatAddress } from '../actors/address.js';
import type { Clock } from '../actors/foundation/clock.js';
import { ApiaryError, ErrorCodes } from '../actors/foundation/errors.js';
import type { SystemEvent } from '../actors/events.js';
import { check } from './abort.js';
import { CircuitBreaker, type BreakerOptions } from './circuit-breaker.js';
import { DEFAULTS } from './defaults.js';
import {
  ewma,
  hashRing,
  leastLoaded,
  lowestLatency,
  randomIndex,
  ringOwner,
  roundRobin,
  smoothWeighted,
  type HashRing,
  type RouteeView,
  type RoutingStrategy,
} from './router-strategies.js';

/** `healthy` unless it says otherwise; `critical` routees are skipped by a health-aware router. */
export type RouteeHealth = 'healthy' | 'degraded' | 'critical' | 'failed';

export interface RouterOptions<M = unknown> {
  strategy: RoutingStrategy;
  routees?: ActorRef<M, any>[];
  /** Weights by routee position (weighted strategy); default 1 each. */
  weights?: number[];
  /** The key of a message for consistent hashing (default: its `key` field, else its JSON). */
  keyOf?: (message: M) => string;
  /** Skip routees whose breaker is open or whose health is critical. */
  healthAware?: boolean;
  /** A breaker per routee with these options (names: the routee path); events via `publish`. */
  breaker?: Omit<BreakerOptions, 'clock' | 'name' | 'onStateChange'>;
  /** Health of a routee (e.g. from the node's /health for its thread). */
  healthOf?: (ref: ActorRef<M, any>) => RouteeHealth;
  /** Ask timeout for routed asks, ms. Default 60 000. */
  askTimeout?: number;
  virtualNodes?: number;
}

interface Routee<M> {
  ref: ActorRef<M, any>;
  id: string;
  weight: number;
  current: number;
  inFlight: number;
  ewmaMs: number | undefined;
  breaker: CircuitBreaker | undefined;
  /** Messages routed to it (for tests and the tree). */
  routed: number;
}

/** The routing core: pick, send, keep score. Used by {@link RouterActor} and pool routers. */
export class Router<M = unknown, R = unknown> {
  private list: Routee<M>[] = [];
  private counter = 0;
  private ring: HashRing | undefined;
  private readonly options: RouterOptions<M>;

  constructor(
    options: RouterOptions<M>,
    private readonly clock: Clock,
    private readonly publish: (e: SystemEvent) => void = () => {},
  ) {
    check(['round-robin', 'random', 'consistent-hash', 'least-loaded', 'weighted', 'latency'].includes(options.strategy), 'strategy', 'is not a routing strategy');
    this.options = options;
    (options.routees ?? []).forEach((ref, i) => this.add(ref, options.weights?.[i] ?? 1));
  }

  /** Adds a routee (weight for the weighted strategy). A routee already there is kept as is. */
  add(ref: ActorRef<M, any>, weight = 1): void {
    check(weight > 0, 'weight', 'must be > 0');
    const id = `${ref.path}@${formatAddress(ref.address)}`;
    if (this.list.some((r) => r.id === id)) return;
    const breaker = this.options.breaker
      ? new CircuitBreaker({ ...this.options.breaker, name: ref.path, clock: this.clock, onStateChange: this.publish })
      : undefined;
    this.list.push({ ref, id, weight, current: 0, inFlight: 0, ewmaMs: undefined, breaker, routed: 0 });
    this.ring = undefined;
  }

  /** Removes a routee; messages already sent to it are not recalled. */
  remove(ref: ActorRef<M, any>): void {
    this.list = this.list.filter((r) => !r.ref.equals(ref));
    this.ring = undefined;
  }

  get routees(): ActorRef<M, any>[] {
    return this.list.map((r) => r.ref);
  }

  /** How many messages went to each routee, in routee order. */
  get counts(): number[] {
    return this.list.map((r) => r.routed);
  }

  /** Load of each routee as the strategies see it. */
  views(): RouteeView[] {
    return this.list.map(view);
  }

  /** The breaker of a routee (when the router keeps breakers). */
  breakerOf(ref: ActorRef<M, any>): CircuitBreaker | undefined {
    return this.list.find((r) => r.ref.equals(ref))?.breaker;
  }

  /** Picks the routee for `message`; throws `ERR_NO_ROUTEE` when none may be used. */
  pick(message: M): ActorRef<M, any> {
    return this.pickEntry(message).ref;
  }

  private pickEntry(message: M): Routee<M> {
    let list = this.list;
    if (this.options.healthAware) list = list.filter((r) => this.usable(r));
    if (list.length === 0) throw new ApiaryError(ErrorCodes.NO_ROUTEE, 'the router has no usable routee');
    const chosen = this.choose(list, message);
    chosen.routed++;
    return chosen;
  }

  private usable(r: Routee<M>): boolean {
    if (r.breaker !== undefined && r.breaker.state === 'open') return false;
    const h = this.options.healthOf?.(r.ref);
    return h !== 'critical' && h !== 'failed';
  }

  private choose(list: Routee<M>[], message: M): Routee<M> {
    switch (this.options.strategy) {
      case 'round-robin':
        return list[roundRobin(this.counter++, list.length)]!;
      case 'random':
        return list[randomIndex(this.clock.random(), list.length)]!;
      case 'least-loaded':
        return list[leastLoaded(list.map(view))]!;
      case 'latency':
        return list[lowestLatency(list.map(view))]!;
      case 'weighted': {
        const { index, currents } = smoothWeighted(list.map((r) => r.current), list.map((r) => r.weight));
        list.forEach((r, i) => (r.current = currents[i]!));
        return list[index]!;
      }
      case 'consistent-hash': {
        const key = this.options.keyOf?.(message) ?? defaultKey(message);
        if (list === this.list) {
          this.ring ??= hashRing(list.map((r) => r.id), this.options.virtualNodes ?? DEFAULTS.router.virtualNodes);
          const id = ringOwner(this.ring, key);
          return list.find((r) => r.id === id)!;
        }
        const ring = hashRing(list.map((r) => r.id), this.options.virtualNodes ?? DEFAULTS.router.virtualNodes);
        const id = ringOwner(ring, key);
        return list.find((r) => r.id === id)!;
      }
    }
  }

  /** Sends `message` to the picked routee; false if it became a dead letter (or none is usable). */
  tell(message: M, options?: TellOptions): boolean {
    let r: Routee<M>;
    try {
      r = this.pickEntry(message);
    } catch {
      return false;
    }
    return r.ref.tell(message, options);
  }

  /**
   * Asks the picked routee and resolves with its answer; counts it in flight meanwhile,
   * feeds its RTT to the latency EWMA and its outcome to its breaker (if any). Rejects
   * `ERR_NO_ROUTEE` when none may be used, or as the routee's ask does.
   */
  ask(message: M, options: AskOptions = {}): Promise<R> {
    let r: Routee<M>;
    try {
      r = this.pickEntry(message);
    } catch (err) {
      return Promise.reject(err);
    }
    const opts: AskOptions = { ...options, timeout: options.timeout ?? this.options.askTimeout ?? DEFAULTS.router.askTimeout };
    const send = (): Promise<R> => {
      r.inFlight++;
      const t0 = this.clock.now();
      const settle = (): void => {
        r.inFlight--;
        r.ewmaMs = ewma(r.ewmaMs, this.clock.now() - t0, DEFAULTS.router.ewmaAlpha);
      };
      return r.ref.ask(message, opts).then(
        (v) => (settle(), v as R),
        (err: unknown) => {
          settle();
          throw err;
        },
      );
    };
    return r.breaker ? r.breaker.call(send) : send();
  }
}

function view(r: Routee<unknown>): RouteeView {
  return { mailbox: (r.ref.target as { mailboxSize?: number }).mailboxSize ?? 0, inFlight: r.inFlight, ewmaMs: r.ewmaMs, weight: r.weight };
}

function defaultKey(message: unknown): string {
  const key = (message as { key?: unknown } | null)?.key;
  if (typeof key === 'string') return key;
  if (typeof key === 'number') return String(key);
  return JSON.stringify(message) ?? String(message);
}

/** Control messages a router actor answers itself. */
export type RouterControl =
  | { type: 'router:add'; ref: ActorRef; weight?: number }
  | { type: 'router:remove'; ref: ActorRef }
  | { type: 'router:routees' }
  | { type: 'router:counts' };

/** True for a router control message. */
export function isRouterControl(message: unknown): message is RouterControl {
  const t = (message as { type?: unknown } | null)?.type;
  return typeof t === 'string' && t.startsWith('router:');
}

/**
 * An actor that routes every message it gets: a tell to one routee, an ask to one routee
 * with the answer (or failure) going back to the asker — several asks in flight at once —
 * and the asker's cancel passed on. `router:add`/`router:remove`/`router:routees`/`router:counts`
 * manage it.
 */
export class RouterActor<M = unknown, R = unknown> extends Actor<M | RouterControl, unknown> {
  protected readonly router: Router<M, R>;

  constructor(options: RouterOptions<M>) {
    super();
    this.router = new Router<M, R>(options, this.context.clock, (e) => this.context.publish(e));
  }

  receive(message: M | RouterControl): unknown {
    if (isRouterControl(message)) return this.control(message);
    const reply = this.context.replyLater<R>();
    if (reply === undefined) {
      this.router.tell(message as M, this.context.sender ? { sender: this.context.sender } : undefined);
      return undefined;
    }
    this.router.ask(message as M, { cancelWith: reply.onCancel }).then(reply.resolve, reply.reject);
    return undefined;
  }

  protected control(message: RouterControl): unknown {
    switch (message.type) {
      case 'router:add':
        this.router.add(message.ref as ActorRef<M, any>, message.weight);
        return this.router.routees.length;
      case 'router:remove':
        this.router.remove(message.ref as ActorRef<M, any>);
        return this.router.routees.length;
      case 'router:routees':
        return this.router.routees;
      case 'router:counts':
        return this.router.counts;
    }
  }
}
