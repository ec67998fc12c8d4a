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
import type { ActorRef } from '../actors/actor-ref.js';
import type { Directive } from '../actors/events.js';
import { errorReason, isNormalExit, type ExitReason } from '../actors/exit-reason.js';
import { stopForRestart, stopWithin } from '../actors/shutdown.js';
import type { TimerHandle } from '../runtime/clock.js';
import { ApiaryError, ErrorCodes } from '../runtime/errors.js';
import { attemptAfterRun, backoffDelay } from './backoff.js';
import {
  isSupervisorSpec,
  normalizeChild,
  type ChildSpec,
  type ErrorDirective,
  type NormalizedChildSpec,
  type SupervisorSpec,
} from './child-spec.js';
import { recordRestart } from './restart-intensity.js';
import { restartGroup } from './strategy.js';

/** One child as `whichChildren()` reports it (OTP's `which_children/1`). */
export interface ChildInfo {
  id: string;
  /** Undefined while the child is terminated (not running and not restarting). */
  ref: ActorRef | undefined;
  kind: 'supervisor' | 'worker';
  status: 'running' | 'restarting' | 'stopped';
  restarts: number;
}

/** OTP's `count_children/1`. */
export interface ChildCounts {
  specs: number;
  active: number;
  supervisors: number;
  workers: number;
}

/** @internal Requests handled on the supervisor's system queue. */
export type ControlOp =
  | { op: 'start-child'; spec: unknown }
  | { op: 'terminate-child'; id: string | ActorRef }
  | { op: 'restart-child'; id: string }
  | { op: 'delete-child'; id: string }
  | { op: 'which-children' }
  | { op: 'count-children' }
  | { op: 'backoff-restart'; records: ChildRecord[]; generation: number };

/** @internal */
export interface ChildRecord {
  spec: NormalizedChildSpec;
  cell: ActorCell | undefined;
  restarts: number;
  attempt: number;
  timer: TimerHandle | undefined;
  generation: number;
}

const DIRECTIVES: readonly ErrorDirective[] = ['restart', 'resume', 'stop', 'escalate'];

export class Supervisor extends Actor<never, void> {
  private readonly spec: SupervisorSpec;
  private readonly cell: ActorCell;
  private readonly children: ChildRecord[] = [];
  private readonly byId = new Map<string, ChildRecord>();
  private readonly byCell = new Map<ActorCell, ChildRecord>();
  private restartLog: number[] = [];
  private exiting = false;
  private dynamicSeq = 0;
  private generation = 0;

  /** @internal */
  readonly [PARENT_BEHAVIOUR]: ParentBehaviour = {
    handleSystem: (msg) => (msg.kind === 'child-exit' ? this.onChildExit(msg) : this.onControl(msg.op as ControlOp, msg.reply)),
  };

  constructor(spec: SupervisorSpec) {
    super();
    if (!isSupervisorSpec(spec)) {
      throw new ApiaryError(ErrorCodes.INVALID_SPEC, 'a Supervisor needs a supervisor({...}) spec', { field: 'args' });
    }
    this.spec = spec;
    this.cell = this.context as unknown as ActorCell;
  }

  /** Supervisors take no user messages; anything sent is ignored. */
  receive(_message: never): void {}

  override async started(): Promise<void> {
    for (const child of this.spec.children) {
      try {
        await this.startNew(child);
      } catch (err) {
        await this.stopAll();
        throw err;
      }
    }
  }

  override async stopping(): Promise<void> {
    await this.stopAll();
  }

  override async beforeRestart(): Promise<void> {
    await this.stopAll();
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
    if (this.byId.has(spec.id)) {
      throw new ApiaryError(ErrorCodes.DUPLICATE_CHILD_ID, `duplicate child id '${spec.id}'`, { field: 'id' });
    }
    const rec: ChildRecord = { spec, cell: undefined, restarts: 0, attempt: 0, timer: undefined, generation: 0 };
    this.children.push(rec);
    this.byId.set(spec.id, rec);
    try {
      return await this.launch(rec);
    } catch (err) {
      this.removeRecord(rec);
      throw err;
    }
  }

  /** Creates a fresh cell for `rec` and starts it; on failure `rec` is left terminated. */
  private async launch(rec: ChildRecord): Promise<ActorRef> {
    const spec = rec.spec;
    const actor: ActorClass = isSupervisorSpec(spec.actor) ? Supervisor : spec.actor;
    const args = isSupervisorSpec(spec.actor) ? spec.actor : spec.args;
    const cell = this.cell.host.createCell(actor, { args, mailbox: spec.mailbox, name: spec.name }, this.cell, spec.id);
    if (spec.backoff) cell.stashLimit = spec.backoff.stashCapacity;
    rec.cell = cell;
    this.byCell.set(cell, rec);
    try {
      return await this.cell.host.startCell(cell);
    } catch (err) {
      this.byCell.delete(cell);
      if (rec.cell === cell) rec.cell = undefined;
      throw err;
    }
  }

  /** Stops every child, last started first, each within its own `shutdown`. */
  private async stopAll(): Promise<void> {
    for (let i = this.children.length - 1; i >= 0; i--) {
      const rec = this.children[i];
      if (rec === undefined) continue;
      await this.terminateRecord(rec, 'shutdown');
    }
  }

  /** Stops one child for good; keeps its spec unless it is temporary or dynamic. */
  private async terminateRecord(rec: ChildRecord, reason: ExitReason): Promise<void> {
    this.cancelTimer(rec);
    const cell = rec.cell;
    if (cell !== undefined) {
      await stopWithin(cell, reason, rec.spec.shutdown, this.cell.clock);
      this.byCell.delete(cell);
      rec.cell = undefined;
    }
    if (rec.spec.restart === 'temporary' || this.spec.strategy === 'simple-one-for-one') this.removeRecord(rec);
  }

  private removeRecord(rec: ChildRecord): void {
    this.cancelTimer(rec);
    const i = this.children.indexOf(rec);
    if (i >= 0) this.children.splice(i, 1);
    if (this.byId.get(rec.spec.id) === rec) this.byId.delete(rec.spec.id);
    if (rec.cell) this.byCell.delete(rec.cell);
  }

  private cancelTimer(rec: ChildRecord): void {
    if (rec.timer !== undefined) {
      this.cell.clock.clearTimeout(rec.timer);
      rec.timer = undefined;
    }
  }

  // ---- exits -----------------------------------------------------------------------------

  private onChildExit(msg: ChildExit): Promise<void> | void {
    if (this.exiting) return;
    const rec = this.byCell.get(msg.cell);
    if (rec === undefined || rec.cell !== msg.cell) return;
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
    const now = this.cell.clock.now();
    const { log, exceeded } = recordRestart(this.restartLog, now, this.spec.intensity, this.spec.period);
    this.restartLog = log;
    if (exceeded) {
      this.decided(msg.cell.path, 'shutdown', reason);
      return this.giveUp('shutdown');
    }
    this.decided(msg.cell.path, 'restart', reason);
    return this.restart(rec, reason);
  }

  private decided(child: string, directive: Directive, reason: ExitReason): void {
    const host = this.cell.host;
    host.emit({ type: 'supervisor-decision', path: this.cell.path, child, directive, reason, at: host.clock.now() });
  }

  /** Stops all children (reverse order) and exits with `reason`; the parent decides next. */
  private async giveUp(reason: ExitReason): Promise<void> {
    this.exiting = true;
    const host = this.cell.host;
    host.emit({ type: 'escalated', path: this.cell.path, reason, at: host.clock.now() });
    await this.stopAll();
    this.context.stop(reason);
  }

  private async restart(rec: ChildRecord, reason: ExitReason): Promise<void> {
    const clock = this.cell.clock;
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
    const toStart = group.filter((r) => r.cell !== undefined && this.byId.get(r.spec.id) === r);
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

  /** Starts the given children in order; a child that fails to start makes the supervisor give up. */
  private async startGroup(records: ChildRecord[]): Promise<void> {
    const host = this.cell.host;
    for (const r of records) {
      if (this.exiting) return;
      const cell = r.cell;
      if (cell === undefined || cell.status !== 'restarting' || this.byId.get(r.spec.id) !== r) continue;
      try {
        await cell.start();
      } catch (err) {
        const cause = err instanceof ApiaryError && err.cause !== undefined ? err.cause : err;
        return this.giveUp(errorReason(cause));
      }
      r.restarts++;
      cell.restarts = r.restarts;
      host.emit({ type: 'restarted', path: cell.path, incarnation: cell.incarnation, restarts: r.restarts, at: host.clock.now() });
    }
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
        const rec = this.find(op.id);
        await this.terminateRecord(rec, 'shutdown');
        return undefined;
      }
      case 'restart-child': {
        if (this.spec.strategy === 'simple-one-for-one') {
          throw new ApiaryError(ErrorCodes.UNSUPPORTED, 'restartChild is not supported by simple-one-for-one');
        }
        const rec = this.find(op.id);
        if (rec.cell !== undefined) throw new ApiaryError(ErrorCodes.CHILD_RUNNING, `child '${op.id}' is running`, { field: 'id' });
        return this.launch(rec);
      }
      case 'delete-child': {
        if (this.spec.strategy === 'simple-one-for-one') {
          throw new ApiaryError(ErrorCodes.UNSUPPORTED, 'deleteChild is not supported by simple-one-for-one');
        }
        const rec = this.find(op.id);
        if (rec.cell !== undefined) throw new ApiaryError(ErrorCodes.CHILD_RUNNING, `child '${op.id}' is running`, { field: 'id' });
        this.removeRecord(rec);
        return undefined;
      }
      case 'which-children':
        return this.children.map((r) => childInfo(r));
      case 'count-children': {
        let active = 0;
        let supervisors = 0;
        for (const r of this.children) {
          if (r.cell !== undefined && r.cell.status !== 'dead') active++;
          if (r.spec.kind === 'supervisor') supervisors++;
        }
        return { specs: this.children.length, active, supervisors, workers: this.children.length - supervisors } satisfies ChildCounts;
      }
      case 'backoff-restart': {
        const records = op.records.filter((r) => r.generation === op.generation);
        await this.startGroup(records);
        return undefined;
      }
    }
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

  private find(id: string | ActorRef): ChildRecord {
    if (typeof id === 'string') {
      const rec = this.byId.get(id);
      if (rec) return rec;
    } else {
      for (const r of this.children) if (r.cell !== undefined && r.cell.ref.equals(id)) return r;
    }
    throw new ApiaryError(ErrorCodes.NO_SUCH_CHILD, `no child ${typeof id === 'string' ? `'${id}'` : id.path} under ${this.cell.path}`, {
      field: 'id',
    });
  }
}

function childInfo(r: ChildRecord): ChildInfo {
  const cell = r.cell;
  const status = cell === undefined || cell.status === 'dead' ? 'stopped' : cellStatusForTree(cell);
  return { id: r.spec.id, ref: status === 'stopped' ? undefined : cell?.ref, kind: r.spec.kind, status, restarts: r.restarts };
}

/** Collapses a cell's lifecycle state into the three statuses of the tree contract. */
export function cellStatusForTree(cell: ActorCell): 'running' | 'restarting' | 'stopped' {
  switch (cell.status) {
    case 'dead':
      return 'stopped';
    case 'suspended':
    case 'restarting':
      return 'restarting';
    default:
      return 'running';
  }
}
