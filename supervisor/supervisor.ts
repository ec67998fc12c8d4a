/**
 * The supervisor: an actor that starts children in order, restarts them by its strategy,
 * gives up when restarts exceed its intensity, and stops them in reverse order.
 *
 * Owns: the child list, the restart log, backoff attempts and timers, and every decision
 * (`supervisor-decision` events). Exit reports and control requests (`startChild`…) arrive
 * on its system queue and are handled one at a time, so its state has a single owner.
 * Does not own: how a child stops or starts (the cell does) — it only orders and times it.
 * Time: the host clock (backoff, shutdown timers).
 */
import { Actor, type ActorClass } from '../actors/actor.js';
import { ActorCell, PARENT_BEHAVIOUR, type ChildExit, type ParentBehaviour } from '../actors/actor-cell.js';
import { CellContext } from '../actors/actor-context.js';
import type { ChildHandle } from '../actors/child-handle.js';
import type { ActorRef } from '../actors/actor-ref.js';
import type { Directive } from '../actors/events.js';
import { errorReason, isNormalExit, type ExitReason } from '../actors/exit-reason.js';
import { stopForRestart, stopWithin } from '../actors/shutdown.js';
import { ApiaryError, ErrorCodes, serializeError } from '../actors/foundation/errors.js';
import { attemptAfterRun, backoffDelay } from './backoff.js';
import {
  isSupervisorSpec,
  normalizeChild,
  type ChildSpec,
  type ErrorDirective,
  type NormalizedChildSpec,
  type SupervisorSpec,
} from './child-spec.js';
import { ChildTable, type ChildRecord } from './child-table.js';
import { RestartWindow } from './restart-intensity.js';
import { restartGroup } from './strategy.js';

/** @internal Requests handled on the supervisor's system queue. */
export type ControlOp =
  | { op: 'start-child'; spec: unknown }
  | { op: 'terminate-child'; id: string | ActorRef }
  | { op: 'restart-child'; id: string }
  | { op: 'delete-child'; id: string }
  | { op: 'which-children' }
  | { op: 'count-children' }
  | { op: 'backoff-restart'; records: ChildRecord[]; generation: number }
  /** OTP's `try_again_restart`: start again a child whose start failed during a restart. */
  | { op: 'try-again'; rec: ChildRecord; generation: number; reason: ExitReason };

const DIRECTIVES: readonly ErrorDirective[] = ['restart', 'resume', 'stop', 'escalate'];
/** A request the supervisor makes of itself: nobody waits for its answer. */
const IGNORE_REPLY = (): void => {};

export class Supervisor extends Actor<never, void> {
  private readonly spec: SupervisorSpec;
  private readonly cell: ActorCell;
  private readonly table: ChildTable;
  /** The records in start order (the table's array). */
  private readonly children: ChildRecord[];
  private readonly restartWindow = new RestartWindow();
  private exiting = false;
  private dynamicSeq = 0;
  private generation = 0;

  /** @internal */
  readonly [PARENT_BEHAVIOUR]: ParentBehaviour = {
    handleSystem: (msg) => (msg.kind === 'child-exit' ? this.onChildExit(msg) : this.onControl(msg.op as ControlOp, msg.reply)),
    children: () => this.liveChildren(),
  };

  private *liveChildren(): IterableIterator<ChildHandle> {
    for (const r of this.children) if (r.cell !== undefined) yield r.cell;
  }

  constructor(spec: SupervisorSpec) {
    super();
    if (!isSupervisorSpec(spec)) {
      throw new ApiaryError(ErrorCodes.INVALID_SPEC, 'a Supervisor needs a supervisor({...}) spec', { field: 'args' });
    }
    this.spec = spec;
    this.cell = CellContext.cellOf(this.context);
    this.table = new ChildTable(() => this.cell.path);
    this.children = this.table.records;
  }

  /** Supervisors take no user messages; anything sent is ignored. */
  receive(_message: never): void {}

  override async started(): Promise<void> {
    const children = this.spec.children;
    try {
      for (let i = 0; i < children.length; ) {
        // synchronous fast path: most children start without awaiting anything
        const [next, pending] = this.startFrom(children, i);
        if (pending !== undefined) await pending;
        i = next;
      }
    } catch (err) {
      await this.stopAll();
      throw err;
    }
    this.table.sealed = true;
  }

  /** Starts children from index `i` until one starts asynchronously; returns where to go on. */
  private startFrom(children: readonly NormalizedChildSpec[], i: number): [number, Promise<void> | undefined] {
    for (; i < children.length; i++) {
      const pending = this.addAndStart(children[i]!);
      if (pending !== undefined) return [i + 1, pending];
    }
    return [i, undefined];
  }

  override stopping(): Promise<void> | undefined {
    return this.stopAll();
  }

  override beforeRestart(): Promise<void> | undefined {
    return this.stopAll();
  }

  /** @internal The children, in start order, for tree snapshots. */
  get childRecords(): readonly ChildRecord[] {
    return this.children;
  }

  get strategy(): SupervisorSpec['strategy'] {
    return this.spec.strategy;
  }

  // ---- starting and stopping -------------------------------------------------------------

  private async startNew(spec: NormalizedChildSpec): Promise<ActorRef> {
    const rec = this.addRecord(spec);
    const pending = this.startRecord(rec, true);
    if (pending !== undefined) await pending;
    return rec.cell!.ref;
  }

  /** Adds a child and starts it; a promise only if its start is asynchronous. Throws on a failed start. */
  private addAndStart(spec: NormalizedChildSpec): Promise<void> | undefined {
    return this.startRecord(this.addRecord(spec), true);
  }

  private addRecord(spec: NormalizedChildSpec): ChildRecord {
    return this.table.add(spec);
  }

  /**
   * Creates a fresh cell for `rec` and starts it. On a failed start the new cell dies and
   * `rec` is left terminated (or removed, with `removeOnFailure`), and the error is thrown.
   */
  private startRecord(rec: ChildRecord, removeOnFailure: boolean): Promise<void> | undefined {
    const spec = rec.spec;
    const actor: ActorClass = isSupervisorSpec(spec.actor) ? Supervisor : spec.actor;
    const args = isSupervisorSpec(spec.actor) ? spec.actor : spec.args;
    const host = this.cell.host;
    const options = spec.name === undefined && spec.mailbox === undefined ? { args } : { args, mailbox: spec.mailbox, name: spec.name };
    const onNode = spec.node !== undefined && spec.node !== host.node;
    const elsewhere = onNode || (spec.thread !== undefined && spec.thread !== host.thread);
    const placed = elsewhere
      ? host.placeChild({ actor, options, parent: this.cell, segment: spec.id, thread: spec.thread ?? 0, node: onNode ? spec.node : undefined, placement: spec.placement })
      : undefined;
    if (onNode && placed === undefined) {
      throw new ApiaryError(ErrorCodes.START_FAILED, `${this.cell.path}/${spec.id}: node '${spec.node}' is not reachable (this node is not in a cluster)`, {
        cause: new ApiaryError(ErrorCodes.NODE_DOWN, `no cluster`),
      });
    }
    // a thread index on a system without worker threads runs the child here
    const cell: ChildHandle = placed ?? host.createCell(actor, options, { parent: this.cell, segment: spec.id });
    if (spec.backoff) cell.stashLimit = spec.backoff.stashCapacity;
    rec.cell = cell;
    cell.supervision = rec;
    let pending: Promise<void> | undefined;
    try {
      pending = cell.startNow();
    } catch (err) {
      return this.startFailed(rec, cell, removeOnFailure, err);
    }
    return pending?.then(undefined, (err: unknown) => this.startFailed(rec, cell, removeOnFailure, err));
  }

  private startFailed(rec: ChildRecord, cell: ChildHandle, removeOnFailure: boolean, err: unknown): never {
    cell.finalize({ error: serializeError(err) });
    if (rec.cell === cell) rec.cell = undefined;
    if (removeOnFailure) this.removeRecord(rec);
    throw err;
  }

  /** Starts a terminated child again from its spec. */
  private async launch(rec: ChildRecord): Promise<ActorRef> {
    const pending = this.startRecord(rec, false);
    if (pending !== undefined) await pending;
    return rec.cell!.ref;
  }

  /** Stops every child, last started first, each within its own `shutdown`. */
  private stopAll(): Promise<void> | undefined {
    return this.stopDownFrom(this.children.length - 1);
  }

  /** Stops children `i`, `i-1`, … 0; synchronous until one needs time to stop. */
  private stopDownFrom(i: number): Promise<void> | undefined {
    for (; i >= 0; i--) {
      const rec = this.children[i];
      if (rec === undefined) continue;
      const pending = this.terminateRecord(rec, 'shutdown');
      if (pending !== undefined) {
        const next = i - 1;
        return pending.then(() => this.stopDownFrom(Math.min(next, this.children.length - 1)));
      }
    }
    return undefined;
  }

  /**
   * Stops one child for good; keeps its spec unless it is temporary or dynamic. Returns a
   * promise only when the child needs time to stop (see ActorCell.terminateNow).
   */
  private terminateRecord(rec: ChildRecord, reason: ExitReason): Promise<void> | undefined {
    this.cancelTimer(rec);
    const cell = rec.cell;
    if (cell !== undefined) {
      if (rec.spec.shutdown === 'brutal-kill' || !cell.terminateNow(reason)) {
        return stopWithin(cell, reason, rec.spec.shutdown, this.cell.host.clock).then(() => {
          if (rec.cell === cell) rec.cell = undefined;
          this.forgetIfDynamic(rec);
        });
      }
      rec.cell = undefined;
    }
    this.forgetIfDynamic(rec);
    return undefined;
  }

  private forgetIfDynamic(rec: ChildRecord): void {
    if (rec.spec.restart === 'temporary' || this.spec.strategy === 'simple-one-for-one') this.removeRecord(rec);
  }

  private removeRecord(rec: ChildRecord): void {
    this.cancelTimer(rec);
    this.table.remove(rec);
  }

  private cancelTimer(rec: ChildRecord): void {
    if (rec.timer !== undefined) {
      this.cell.host.clock.clearTimeout(rec.timer);
      rec.timer = undefined;
    }
  }

  // ---- exits -----------------------------------------------------------------------------

  private onChildExit(msg: ChildExit): Promise<void> | void {
    if (this.exiting) return;
    const rec = msg.cell.supervision as ChildRecord | undefined;
    if (rec === undefined || rec.removed || rec.cell !== msg.cell) return;
    if (msg.cell.status !== 'suspended' || msg.incarnation !== msg.cell.incarnation) return; // stale report
    const { reason } = msg;
    let directive: ErrorDirective = 'restart';
    if (typeof reason === 'object' && this.spec.decider) {
      try {
        directive = this.spec.decider(reason, rec.spec.id);
      } catch {
        directive = 'escalate';
      }
      if (!DIRECTIVES.includes(directive)) directive = 'escalate';
    }
    if (directive === 'resume' && msg.resumable) {
      this.decided(msg.cell.path, 'resume', reason);
      msg.cell.resume();
      return;
    }
    if (directive === 'escalate') {
      this.decided(msg.cell.path, 'escalate', reason);
      return this.giveUp(reason);
    }
    if (directive === 'stop') {
      this.decided(msg.cell.path, 'stop', reason);
      return this.terminateRecord(rec, reason);
    }
    const restart = rec.spec.restart;
    if (restart === 'temporary' || (restart === 'transient' && isNormalExit(reason))) {
      this.decided(msg.cell.path, 'ignore', reason);
      return this.terminateRecord(rec, reason);
    }
    const now = this.cell.host.clock.now();
    if (this.restartWindow.record(now, this.spec.intensity, this.spec.period)) {
      this.decided(msg.cell.path, 'shutdown', reason);
      return this.giveUp('shutdown');
    }
    this.decided(msg.cell.path, 'restart', reason);
    return this.restart(rec, reason);
  }

  private decided(child: string, directive: Directive, reason: ExitReason): void {
    const host = this.cell.host;
    if (host.observed) host.emit({ type: 'supervisor-decision', path: this.cell.path, child, directive, reason, at: host.clock.now() });
  }

  /** Stops all children (reverse order) and exits with `reason`; the parent decides next. */
  private async giveUp(reason: ExitReason): Promise<void> {
    this.exiting = true;
    const host = this.cell.host;
    host.emit({ type: 'escalated', path: this.cell.path, reason, at: host.clock.now() });
    await this.stopAll();
    this.context.stop(reason);
  }

  /**
   * Restarts `rec` (and its group, by strategy). The common case — one local child that can
   * be readied at once and starts synchronously, no backoff — is done one microtask from now,
   * without the stop protocol or a shutdown timer; anything else goes the graceful way.
   */
  private restart(rec: ChildRecord, reason: ExitReason): Promise<void> | void {
    const cell = rec.cell!;
    const alone = this.spec.strategy === 'one-for-one' || this.spec.strategy === 'simple-one-for-one' || this.children.length === 1;
    if (alone && rec.spec.backoff === undefined && rec.spec.shutdown !== 'brutal-kill' && cell.prepareRestartNow(reason)) {
      // One microtask later, not now: whoever saw the crash (the asker whose ask failed)
      // hears of it before the restart, as on the graceful path.
      return Promise.resolve([rec]).then(this.startGroupNow);
    }
    return this.restartGracefully(rec, reason);
  }

  private async restartGracefully(rec: ChildRecord, reason: ExitReason): Promise<void> {
    const clock = this.cell.host.clock;
    const index = this.children.indexOf(rec);
    const group = restartGroup(this.spec.strategy, this.children.length, index).map((i) => this.children[i]!);
    for (let i = group.length - 1; i >= 0; i--) {
      const r = group[i]!;
      if (r === rec) {
        await stopForRestart(rec.cell!, reason, r.spec.shutdown, clock);
      } else if (r.cell !== undefined && r.cell.status !== 'dead') {
        if (r.spec.restart === 'temporary') await this.terminateRecord(r, 'shutdown');
        else {
          this.cancelTimer(r);
          await stopForRestart(r.cell, 'shutdown', r.spec.shutdown, clock);
        }
      }
    }
    const toStart = group.filter((r) => r.cell !== undefined && !r.removed);
    const policy = rec.spec.backoff;
    if (policy !== undefined) {
      const attempt = attemptAfterRun(policy, rec.attempt, clock.now() - rec.cell!.startedAt);
      const delay = backoffDelay(policy, attempt, clock.random());
      rec.attempt = attempt + 1;
      if (delay > 0) {
        const generation = ++this.generation;
        for (const r of toStart) r.generation = generation;
        this.cell.host.emit({ type: 'restart-scheduled', path: rec.cell!.path, delay, attempt, at: clock.now() });
        rec.timer = clock.setTimeout(() => {
          rec.timer = undefined;
          this.cell.enqueueSystem({ kind: 'control', op: { op: 'backoff-restart', records: toStart, generation }, reply: () => {} });
        }, delay);
        return;
      }
    }
    await this.startGroup(toStart);
  }

  /**
   * Starts the given children in order; a child that fails to start makes the supervisor
   * give up. Synchronous (no promise) while every child starts synchronously.
   */
  private readonly startGroupNow = (records: ChildRecord[]): Promise<void> | void => this.startGroup(records);

  private startGroup(records: ChildRecord[], from = 0): Promise<void> | void {
    for (let i = from; i < records.length; i++) {
      if (this.exiting) return;
      const r = records[i]!;
      const cell = r.cell;
      if (cell === undefined || cell.status !== 'restarting' || r.removed) continue;
      let pending: Promise<void> | undefined;
      try {
        pending = cell.startNow();
      } catch (err) {
        return this.startFailedInGroup(r, cell, err);
      }
      if (pending !== undefined) {
        return pending.then(
          () => {
            this.restarted(r, cell);
            return this.startGroup(records, i + 1);
          },
          (err: unknown) => this.startFailedInGroup(r, cell, err),
        );
      }
      this.restarted(r, cell);
    }
  }

  /**
   * A child failed to start during a restart (OTP's `restart/2` → `{try_again, Id}`): it
   * stays `restarting` (the rest of its group is not started), and the supervisor tries
   * again through its own system queue — after anything already queued there (a
   * `terminateChild`, another exit) — each attempt counted against the restart intensity.
   * With a backoff policy the attempt waits out the child's next backoff delay.
   */
  private startFailedInGroup(r: ChildRecord, cell: ChildHandle, err: unknown): void {
    if (this.exiting || r.removed || r.cell !== cell) return;
    const host = this.cell.host;
    const clock = host.clock;
    const cause = err instanceof ApiaryError && err.cause !== undefined ? err.cause : err;
    const reason = errorReason(cause);
    if (host.observed) host.emit({ type: 'failed', path: cell.path, reason, at: clock.now() });
    const generation = ++this.generation;
    r.generation = generation;
    const tryAgain = (): void =>
      this.cell.enqueueSystem({ kind: 'control', op: { op: 'try-again', rec: r, generation, reason }, reply: IGNORE_REPLY });
    const policy = r.spec.backoff;
    const delay = policy === undefined ? 0 : backoffDelay(policy, r.attempt, clock.random());
    if (policy !== undefined) r.attempt++;
    if (delay <= 0) return tryAgain();
    host.emit({ type: 'restart-scheduled', path: cell.path, delay, attempt: r.attempt - 1, at: clock.now() });
    this.cancelTimer(r);
    r.timer = clock.setTimeout(() => {
      r.timer = undefined;
      tryAgain();
    }, delay);
  }

  /**
   * OTP's `try_again_restart`: if `rec` is still waiting (not terminated, removed or
   * restarted meanwhile), one more restart is counted — past the intensity the supervisor
   * gives up with `shutdown` — and its group is restarted by the strategy: `one-for-one` and
   * `simple-one-for-one` start it alone; `rest-for-one` starts it and every child after it;
   * `one-for-all` stops the children that came up (last first) and starts them all again.
   */
  private tryAgain(rec: ChildRecord, generation: number, reason: ExitReason): Promise<void> | void {
    const cell = rec.cell;
    if (this.exiting || rec.removed || rec.generation !== generation || cell === undefined || cell.status !== 'restarting') return;
    const now = this.cell.host.clock.now();
    if (this.restartWindow.record(now, this.spec.intensity, this.spec.period)) {
      this.decided(cell.path, 'shutdown', reason);
      return this.giveUp('shutdown');
    }
    this.decided(cell.path, 'restart', reason);
    const group = restartGroup(this.spec.strategy, this.children.length, this.children.indexOf(rec)).map((i) => this.children[i]!);
    if (group.length === 1) return this.startGroup(group);
    return this.restartGroupAgain(rec, group);
  }

  /** Stops the running members of `rec`'s group (last first), then starts the group in order. */
  private async restartGroupAgain(rec: ChildRecord, group: ChildRecord[]): Promise<void> {
    const clock = this.cell.host.clock;
    for (let i = group.length - 1; i >= 0; i--) {
      const r = group[i]!;
      this.cancelTimer(r);
      r.generation = 0;
      if (r === rec || r.cell === undefined || r.cell.status === 'dead') continue;
      // a temporary bystander is never restarted; one waiting to be has no instance to stop
      if (r.spec.restart === 'temporary') await this.terminateRecord(r, 'shutdown');
      else if (r.cell.status !== 'restarting') await stopForRestart(r.cell, 'shutdown', r.spec.shutdown, clock);
    }
    await this.startGroup(group.filter((r) => r.cell !== undefined && !r.removed));
  }

  private restarted(r: ChildRecord, cell: ChildHandle): void {
    const host = this.cell.host;
    r.restarts++;
    cell.restarts = r.restarts;
    if (host.observed) host.emit({ type: 'restarted', path: cell.path, incarnation: cell.incarnation, restarts: r.restarts, at: host.clock.now() });
  }

  // ---- control requests ------------------------------------------------------------------

  private onControl(op: ControlOp, reply: (err: unknown, value?: unknown) => void): Promise<void> {
    return this.control(op).then(
      (value) => reply(null, value),
      (err: unknown) => reply(err),
    );
  }

  private async control(op: ControlOp): Promise<unknown> {
    if (this.exiting && op.op !== 'which-children' && op.op !== 'count-children') {
      throw new ApiaryError(ErrorCodes.ACTOR_STOPPED, `${this.cell.path} is shutting down`);
    }
    switch (op.op) {
      case 'start-child':
        return this.startChild(op.spec);
      case 'terminate-child': {
        if (this.spec.strategy === 'simple-one-for-one' && typeof op.id !== 'string' && this.formerChild(op.id)) return undefined;
        const rec = this.table.find(op.id);
        await this.terminateRecord(rec, 'shutdown');
        return undefined;
      }
      case 'restart-child': {
        if (this.spec.strategy === 'simple-one-for-one') {
          throw new ApiaryError(ErrorCodes.UNSUPPORTED, 'restartChild is not supported by simple-one-for-one');
        }
        const rec = this.table.find(op.id);
        if (rec.cell !== undefined) throw new ApiaryError(ErrorCodes.CHILD_RUNNING, `child '${op.id}' is running`, { field: 'id' });
        return this.launch(rec);
      }
      case 'delete-child': {
        if (this.spec.strategy === 'simple-one-for-one') {
          throw new ApiaryError(ErrorCodes.UNSUPPORTED, 'deleteChild is not supported by simple-one-for-one');
        }
        const rec = this.table.find(op.id);
        if (rec.cell !== undefined) throw new ApiaryError(ErrorCodes.CHILD_RUNNING, `child '${op.id}' is running`, { field: 'id' });
        this.removeRecord(rec);
        return undefined;
      }
      case 'which-children':
        return this.table.which();
      case 'count-children':
        return this.table.counts(this.spec.strategy === 'simple-one-for-one' ? (isSupervisorSpec(this.spec.template!.actor) ? 'supervisor' : 'worker') : undefined);
      case 'backoff-restart': {
        const records = op.records.filter((r) => r.generation === op.generation);
        await this.startGroup(records);
        return undefined;
      }
      case 'try-again':
        await this.tryAgain(op.rec, op.generation, op.reason);
        return undefined;
    }
  }

  /**
   * OTP's `terminate_child` of a `simple-one-for-one` pid that is not (or no longer) among
   * its children: `ok` when that process is dead, `not_found` when it lives. Here: `ref` is
   * not a child now and is known dead — a local actor that died, an unreachable one, or one
   * whose path is directly under this supervisor (every live child of it is in its table).
   */
  private formerChild(ref: ActorRef): boolean {
    for (const r of this.children) if (r.cell !== undefined && r.cell.ref.equals(ref)) return false;
    const target = ref.target;
    if (target instanceof ActorCell) return target.status === 'dead';
    if (target.dead) return true;
    const prefix = `${this.cell.path}/`;
    return ref.path.startsWith(prefix) && !ref.path.includes('/', prefix.length);
  }

  private startChild(input: unknown): Promise<ActorRef> {
    if (this.spec.strategy === 'simple-one-for-one') {
      const id = `$${++this.dynamicSeq}`;
      const spec = normalizeChild({ ...this.spec.template!, args: input, id }, 'template', this.spec.backoff);
      return this.startNew(spec);
    }
    const spec = normalizeChild(input as ChildSpec, 'spec', this.spec.backoff);
    return this.startNew(spec);
  }
}
