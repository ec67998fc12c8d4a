/**
 * Child specs and supervisor specs: what a supervisor starts, and how it restarts.
 *
 * Owns: the spec vocabulary (OTP names, kebab-case), defaults and validation. Invalid
 * specs throw `ERR_INVALID_SPEC` (or `ERR_DUPLICATE_CHILD_ID`) with `field` naming the
 * offending field, e.g. `children[2].restart`.
 */
import type { ActorClass } from '../actors/actor.js';
import type { ExitReason } from '../actors/exit-reason.js';
import type { MailboxOptions } from '../actors/mailbox.js';
import type { Shutdown } from '../actors/shutdown.js';
import { ApiaryError, ErrorCodes } from '../actors/foundation/errors.js';
import type { BackoffOptions, BackoffPolicy } from './backoff.js';
import { DEFAULTS } from './defaults.js';

/** `simple-one-for-one`: one child template, children added with `startChild(args)` (OTP's simple_one_for_one). */
export type Strategy = 'one-for-one' | 'one-for-all' | 'rest-for-one' | 'simple-one-for-one';
export const STRATEGIES: readonly Strategy[] = ['one-for-one', 'one-for-all', 'rest-for-one', 'simple-one-for-one'];

/**
 * - `permanent`: always restarted;
 * - `transient`: restarted only after an abnormal exit (not `normal`/`shutdown`);
 * - `temporary`: never restarted, not even as a bystander, and never counted.
 */
export type RestartType = 'permanent' | 'transient' | 'temporary';
export const RESTART_TYPES: readonly RestartType[] = ['permanent', 'transient', 'temporary'];

/**
 * What a supervisor does about a child that threw: `restart` (then the restart type and
 * intensity apply), `resume` (keep its state, go on with the next message), `stop` (stop it
 * for good), `escalate` (stop all children and fail the supervisor with the same reason).
 */
export type ErrorDirective = 'restart' | 'resume' | 'stop' | 'escalate';

/** Per-error decider; called only for error exits, not for `normal`/`shutdown`/`killed`. */
export type Decider = (reason: ExitReason, childId: string) => ErrorDirective;

export interface ChildSpec {
  /** Unique among the supervisor's children; the last segment of the child's path. */
  id: string;
  /** An Actor class, or a nested `supervisor({...})`. */
  actor: ActorClass | SupervisorSpec;
  /** Constructor argument of the actor. */
  args?: unknown;
  /** Default `permanent`. */
  restart?: RestartType;
  /** Default 5000 ms for workers, `infinity` for supervisors. */
  shutdown?: Shutdown;
  mailbox?: MailboxOptions;
  /** Also register the child under this name. */
  name?: string;
  /** Overrides the supervisor's backoff for this child. */
  backoff?: BackoffOptions;
  /**
   * Where the child runs: a thread index (0 is the main thread), or `auto` (the least
   * loaded worker thread). Default: the supervisor's own thread. Supervisors run on the
   * main thread; a child on a worker thread needs a class with a static `module`.
   */
  thread?: number | 'auto';
  /**
   * The cluster node to run the child on: its main thread, or with `thread` one of its
   * worker threads (a crash of that worker makes the child exit `thread-crash`; its restart
   * places a new actor on the node again). With `placement: 'failover'`
   * (the default) a start or restart while that node is not up goes to another up member
   * (by name order); with `pinned` it fails `ERR_START_FAILED` (cause `ERR_NODE_DOWN`) and
   * counts against intensity. A child on another node needs a class with a static `module`
   * that node can load.
   */
  node?: string;
  placement?: 'failover' | 'pinned';
}

/** A child spec for `simple-one-for-one`: everything but the id. */
export type ChildTemplate = Omit<ChildSpec, 'id' | 'name'>;

export interface SupervisorOptions {
  /** Default `one-for-one`. */
  strategy?: Strategy;
  /** Max restarts within `period` before the supervisor gives up. Default 1 (OTP). */
  intensity?: number;
  /** ms. Default 5000 (OTP). */
  period?: number;
  /** Started in order, stopped in reverse order. */
  children?: ChildSpec[];
  /** Required by `simple-one-for-one`. */
  template?: ChildTemplate;
  /** Delay restarts (Akka backoff) instead of restarting at once. */
  backoff?: BackoffOptions;
  /** Per-error directives; default: always `restart`. */
  decider?: Decider;
}

/** A validated supervisor definition; use it as `actor` of a child spec or pass it to `spawn`. */
export interface SupervisorSpec {
  readonly kind: 'supervisor';
  readonly strategy: Strategy;
  readonly intensity: number;
  readonly period: number;
  readonly children: readonly NormalizedChildSpec[];
  readonly template: ChildTemplate | undefined;
  readonly backoff: BackoffPolicy | undefined;
  readonly decider: Decider | undefined;
}

export interface NormalizedChildSpec {
  readonly id: string;
  readonly actor: ActorClass | SupervisorSpec;
  readonly args: unknown;
  readonly restart: RestartType;
  readonly shutdown: Shutdown;
  readonly mailbox: MailboxOptions | undefined;
  readonly name: string | undefined;
  readonly backoff: BackoffPolicy | undefined;
  readonly kind: 'supervisor' | 'worker';
  readonly thread: number | 'auto' | undefined;
  readonly node: string | undefined;
  readonly placement: 'failover' | 'pinned';
}

export function isSupervisorSpec(x: unknown): x is SupervisorSpec {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'supervisor';
}

function invalid(field: string, message: string): ApiaryError {
  return new ApiaryError(ErrorCodes.INVALID_SPEC, `invalid spec: ${field} ${message}`, { field });
}

function nonNegativeNumber(v: unknown, field: string, allowInfinity = false): number {
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0 || (!allowInfinity && !Number.isFinite(v))) {
    throw invalid(field, `must be a non-negative number, got ${String(v)}`);
  }
  return v;
}

export function normalizeBackoff(b: BackoffOptions | undefined, field: string): BackoffPolicy | undefined {
  if (b === undefined) return undefined;
  if (typeof b !== 'object' || b === null) throw invalid(field, 'must be an object');
  const minBackoff = nonNegativeNumber(b.minBackoff, `${field}.minBackoff`);
  const maxBackoff = nonNegativeNumber(b.maxBackoff, `${field}.maxBackoff`);
  if (maxBackoff < minBackoff) throw invalid(`${field}.maxBackoff`, 'must be >= minBackoff');
  const randomFactor = nonNegativeNumber(b.randomFactor ?? DEFAULTS.randomFactor, `${field}.randomFactor`);
  if (randomFactor > 1) throw invalid(`${field}.randomFactor`, 'must be <= 1');
  const resetAfter = nonNegativeNumber(b.resetAfter ?? minBackoff, `${field}.resetAfter`, true);
  const stashCapacity = nonNegativeNumber(b.stashCapacity ?? DEFAULTS.stashCapacity, `${field}.stashCapacity`, true);
  return { minBackoff, maxBackoff, randomFactor, resetAfter, stashCapacity };
}

function normalizeShutdown(v: unknown, field: string, isSupervisor: boolean): Shutdown {
  if (v === undefined) return isSupervisor ? DEFAULTS.supervisorShutdown : DEFAULTS.workerShutdown;
  if (v === 'infinity' || v === 'brutal-kill') return v;
  return nonNegativeNumber(v, field);
}

/** Validates one child spec (or template, when `id` is supplied by the caller). */
export function normalizeChild(spec: ChildSpec, field: string, parentBackoff: BackoffPolicy | undefined): NormalizedChildSpec {
  if (typeof spec !== 'object' || spec === null) throw invalid(field, 'must be an object');
  if (typeof spec.id !== 'string' || spec.id.length === 0 || spec.id.includes('/')) {
    throw invalid(`${field}.id`, 'must be a non-empty string without "/"');
  }
  const isSup = isSupervisorSpec(spec.actor);
  if (!isSup && typeof spec.actor !== 'function') {
    throw invalid(`${field}.actor`, 'must be an Actor class or a supervisor({...}) spec');
  }
  const restart = spec.restart ?? DEFAULTS.restart;
  if (!RESTART_TYPES.includes(restart)) throw invalid(`${field}.restart`, `must be one of ${RESTART_TYPES.join(', ')}`);
  if (spec.name !== undefined && (typeof spec.name !== 'string' || spec.name.length === 0)) {
    throw invalid(`${field}.name`, 'must be a non-empty string');
  }
  if (spec.mailbox?.capacity !== undefined) nonNegativeNumber(spec.mailbox.capacity, `${field}.mailbox.capacity`, true);
  if (spec.mailbox?.overflow !== undefined && !['drop-newest', 'drop-oldest', 'reject'].includes(spec.mailbox.overflow)) {
    throw invalid(`${field}.mailbox.overflow`, 'must be drop-newest, drop-oldest or reject');
  }
  if (spec.thread !== undefined) {
    if (spec.thread !== 'auto' && !(Number.isInteger(spec.thread) && spec.thread >= 0)) {
      throw invalid(`${field}.thread`, "must be a thread index >= 0 or 'auto'");
    }
    if (isSup && spec.thread !== 0) throw invalid(`${field}.thread`, 'supervisors run on the main thread (0)');
  }
  if (spec.node !== undefined) {
    if (typeof spec.node !== 'string' || spec.node.length === 0) throw invalid(`${field}.node`, 'must be a node name');
    if (isSup) throw invalid(`${field}.node`, 'supervisors run on their parent\'s node');
  }
  const placement = spec.placement ?? 'failover';
  if (placement !== 'failover' && placement !== 'pinned') throw invalid(`${field}.placement`, "must be 'failover' or 'pinned'");
  return {
    node: spec.node,
    placement,
    id: spec.id,
    actor: spec.actor,
    thread: spec.thread,
    args: spec.args,
    restart,
    shutdown: normalizeShutdown(spec.shutdown, `${field}.shutdown`, isSup),
    mailbox: spec.mailbox,
    name: spec.name,
    backoff: spec.backoff === undefined ? parentBackoff : normalizeBackoff(spec.backoff, `${field}.backoff`),
    kind: isSup ? 'supervisor' : 'worker',
  };
}

/**
 * Validates a supervisor definition and fills in OTP defaults. Throws `ERR_INVALID_SPEC`
 * (unknown strategy, negative intensity, bad period, bad child field…) or
 * `ERR_DUPLICATE_CHILD_ID`, with `field` naming what is wrong.
 */
export function supervisor(options: SupervisorOptions = {}): SupervisorSpec {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'must be an object');
  const strategy = options.strategy ?? DEFAULTS.strategy;
  if (!STRATEGIES.includes(strategy)) throw invalid('strategy', `must be one of ${STRATEGIES.join(', ')}, got ${String(strategy)}`);
  const intensity = options.intensity ?? DEFAULTS.intensity;
  if (!Number.isInteger(intensity) || intensity < 0) throw invalid('intensity', `must be an integer >= 0, got ${String(intensity)}`);
  const period = options.period ?? DEFAULTS.period;
  if (typeof period !== 'number' || !(period > 0)) throw invalid('period', `must be a number > 0, got ${String(period)}`);
  if (options.decider !== undefined && typeof options.decider !== 'function') throw invalid('decider', 'must be a function');
  const backoff = normalizeBackoff(options.backoff, 'backoff');
  const children = options.children ?? [];
  if (!Array.isArray(children)) throw invalid('children', 'must be an array');
  let template: ChildTemplate | undefined;
  if (strategy === 'simple-one-for-one') {
    if (children.length > 0) throw invalid('children', 'must be empty for simple-one-for-one (use template)');
    if (options.template === undefined) throw invalid('template', 'is required for simple-one-for-one');
    normalizeChild({ ...options.template, id: 'template' }, 'template', backoff);
    template = options.template;
  } else if (options.template !== undefined) {
    throw invalid('template', 'is only for simple-one-for-one');
  }
  const seen = new Set<string>();
  const normalized = children.map((c, i) => {
    const n = normalizeChild(c, `children[${i}]`, backoff);
    if (seen.has(n.id)) {
      throw new ApiaryError(ErrorCodes.DUPLICATE_CHILD_ID, `duplicate child id '${n.id}'`, { field: `children[${i}].id` });
    }
    seen.add(n.id);
    return n;
  });
  return Object.freeze({
    kind: 'supervisor' as const,
    strategy,
    intensity,
    period,
    children: Object.freeze(normalized),
    template,
    backoff,
    decider: options.decider,
  });
}
