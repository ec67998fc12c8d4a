/**
 * Durable workflows (Temporal/Restate-style durable execution) on the persistence journal:
 * a run and each step's result are journaled, so after a crash of the node (or a restart of
 * whatever coordinates it) the run resumes where it stopped and never runs a finished step
 * again; durable timers (the wake-up time is journaled, wall clock); signals kept in a
 * journaled inbox until a step waits for them; runs listable and inspectable.
 *
 * Owns: the engine ({@link DurableWorkflows}): definitions by name, the journal of each run
 * (`workflow/<runId>`: the definition name and input, step starts, timer wake-up times, step
 * outcomes, cancel, end) and its signal inbox (`workflow-signal/<runId>`), claiming a run
 * (fencing), rebuilding a run's spec from its definition and input and replaying its
 * journal, `workflow-run` events.
 * Given `system`, it registers itself there (runtime/node/workflow-source.ts) for the admin API
 * and `apiary workflows`.
 * Does not own: running the DAG (workflow.ts `runTasks`, shared with `runWorkflow`), the
 * store (runtime/persistence: any {@link EventJournal}), deciding which node resumes which
 * run (whoever calls `resume()`; two engines that both resume a run fence each other).
 *
 * Semantics:
 * - Specs hold refs and functions, which cannot be stored: a run records the *definition
 *   name* and its *input* (plain data); the app registers definitions at start (`define`) and
 *   a resumed run rebuilds its spec from the same definition and input. A definition must be
 *   deterministic in its step ids, dependencies and kinds (the journal is checked against it:
 *   `ERR_WORKFLOW_NONDETERMINISTIC`).
 * - A step's outcome is durable before its dependents start and before anyone sees it, so a
 *   finished step never runs again. A step in flight at a crash runs again on resume
 *   (at-least-once for in-flight steps): agents that act on the world should be idempotent.
 *   Retries and their attempt counts are per coordinator: they start over after a resume.
 * - Fencing: a coordinator claims the run's journal (a new epoch) before driving it; a stale
 *   coordinator's next append is refused `ERR_PERSISTENCE_FENCED` and it stops driving the run.
 * - A timer's wake-up is wall-clock time (`clock.wallTime()`), journaled before the wait; a
 *   resumed timer waits only what is left (none if the time passed while the node was down).
 * - A signal is durable in the run's inbox when `signal()` resolves; `waitFor` steps take the
 *   signals of their name first come first served, whenever they were sent; which signal a
 *   step took is journaled with its outcome. Signals sent through another engine sharing the
 *   store are seen by polling the inbox while a step waits.
 * Threads: the caller's (the thread that owns the store, thread 0). Time: the given clock.
 */
import { keepAlive, type Clock, type TimerHandle } from '../actors/foundation/clock.js';
import { ApiaryError, ErrorCodes, serializeError, type SerializedError } from '../actors/foundation/errors.js';
import type { SystemEvent } from '../actors/events.js';
import type { EventJournal, StoredEvent } from '../runtime/persistence/store.js';
import { assertPlainData } from '../transport/codec.js';
import { DEFAULTS } from './defaults.js';
import { runTasks, type RunnerHandle, type RunnerTask, type TaskOutcome, type TaskSpec, type TaskState, type WorkflowResult } from './workflow.js';
import { topologicalOrder } from './workflow-graph.js';
import type {
  WorkflowHost,
  WorkflowRunInfo,
  WorkflowRunStatus,
  WorkflowRunSummary,
  WorkflowSignalInfo,
  WorkflowSource,
  WorkflowStepInfo,
} from '../runtime/node/workflow-source.js';

export type { WorkflowRunInfo, WorkflowRunStatus, WorkflowRunSummary, WorkflowSignalInfo, WorkflowStepInfo };

/** A step that waits `sleep` ms (a durable timer); its result is the wake-up time (wall-clock ms). */
export interface SleepStep {
  id: string;
  dependsOn?: string[];
  sleep: number;
}

/** A step that waits for the signal `waitFor`; its result is the signal's payload. */
export interface SignalStep {
  id: string;
  dependsOn?: string[];
  waitFor: string;
}

/** A step of a durable workflow: an ask (a {@link TaskSpec}), a durable timer, or a signal wait. */
export type DurableStep = TaskSpec | SleepStep | SignalStep;

/** What a definition builds: the steps (their results must be plain data: they are journaled). */
export interface DurableWorkflowSpec {
  tasks: DurableStep[];
}

/** Builds a run's spec from its input. Called again on every resume: keep it deterministic. */
export type WorkflowDefinition<I = any> = (input: I) => DurableWorkflowSpec;

/** What an engine runs on: its journal, clock and events (each defaulting to the system's), who it is. */
export interface DurableWorkflowsOptions {
  /**
   * The node (an ActorSystem): the engine registers itself there (so `GET /workflows` and
   * `apiary workflows` see its runs; `stop()` unregisters), and `journal`, `clock` and
   * `publish` default to the system's store, clock and events.
   */
  system?: WorkflowHost & { readonly name?: string; readonly store?: EventJournal | undefined; readonly clock: Clock; publish(e: SystemEvent): void };
  /** Where runs are journaled (a Store: LMDB, Redis; MemoryStore in unit tests). Default `system.store`. */
  journal?: EventJournal;
  /** Default `system.clock`. */
  clock?: Clock;
  /** Where `workflow-run` and `task-state` events go. Default `system.publish`, else nowhere. */
  publish?: (e: SystemEvent) => void;
  /** Who this coordinator is, recorded with its claims (diagnostics), e.g. `n1/1234`. Default the system's name. */
  writer?: string;
  /** ms between reads of a waiting run's signal inbox (signals sent through another engine). Default 1000. */
  signalPollMs?: number;
  /**
   * Keep the process alive while this engine drives a run (clock timers do not): for a
   * script with nothing else running that waits on a durable timer or a signal. Default
   * false — a node's servers and links keep it alive.
   */
  keepAlive?: boolean;
}

/** Options of {@link DurableWorkflows.start}. */
export interface WorkflowStartOptions {
  /** The run's id (an idempotency key: starting it again returns that run). Default generated. */
  runId?: string;
}

/** A run this engine started, resumed or found finished. */
export interface DurableRunHandle {
  readonly runId: string;
  readonly definition: string;
  /**
   * Resolves with the result when the run finishes (at once for a finished run). Rejects if
   * this engine stops driving the run: `ERR_WORKFLOWS_STOPPED` (stop), `ERR_PERSISTENCE_FENCED`
   * (another coordinator took it), a store error — the run stays unfinished in the store.
   */
  readonly result: Promise<WorkflowResult>;
  /** Journals the cancel, then aborts in-flight steps and cancels queued ones (also after a resume). */
  cancel(): Promise<void>;
  /** Step states as this engine sees them now. */
  states(): Record<string, TaskState>;
}

/** The journal's entries (plain data, stored as is). */
type Entry =
  | { t: 'run'; definition: string; input: unknown }
  | { t: 'step-started'; step: string }
  | { t: 'timer'; step: string; wakeAt: number }
  | { t: 'step'; step: string; state: 'completed' | 'failed' | 'cancelled'; value?: unknown; error?: SerializedError; attempts: number; signal?: number }
  | { t: 'cancel' }
  | { t: 'end'; status: Exclude<WorkflowRunStatus, 'running'> };

/** A run as its journal says: folded entry by entry. */
interface RunRecord {
  runId: string;
  definition: string;
  input: unknown;
  startedAt: number;
  steps: Map<string, WorkflowStepInfo>;
  /** Inbox seqs taken by journaled steps, and by which. */
  consumed: Map<number, string>;
  cancelRequested: boolean;
  end?: { status: Exclude<WorkflowRunStatus, 'running'>; at: number };
}

const RUN_PREFIX = 'workflow/';
const INBOX_PREFIX = 'workflow-signal/';
/** Longest single Clock timer (Node's setTimeout limit); longer waits are chained. */
const MAX_TIMER_MS = 2_147_483_647;

const runPid = (runId: string): string => `${RUN_PREFIX}${runId}`;
const inboxPid = (runId: string): string => `${INBOX_PREFIX}${runId}`;

/**
 * The durable-workflow engine: one per coordinator (a node's thread 0), over one journal.
 * Construct it, `define` every definition, then `resume()` to continue the runs a previous
 * incarnation left unfinished.
 */
export class DurableWorkflows implements WorkflowSource {
  private readonly journal: EventJournal;
  private readonly clock: Clock;
  private readonly publish: (e: SystemEvent) => void;
  private readonly writer: string;
  private readonly pollMs: number;
  private readonly definitions = new Map<string, WorkflowDefinition>();
  private readonly active = new Map<string, ActiveRun>();
  /** Starts and resumes in progress, by run id: concurrent calls share them. */
  private readonly taking = new Map<string, Promise<DurableRunHandle>>();
  private stopped = false;
  private readonly keepProcessAlive: boolean;
  /** Lets the process exit again (set while runs are driven with `keepAlive`). */
  private release: (() => void) | undefined;

  private readonly unregister: (() => void) | undefined;

  /**
   * Throws `ERR_INVALID_ARGUMENT` without a journal (no `journal`, and no `system` with a
   * store) or a clock; `ERR_NAME_TAKEN` when `system` has an engine already.
   */
  constructor(options: DurableWorkflowsOptions) {
    const { system } = options;
    const journal = options.journal ?? system?.store;
    if (journal === undefined) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'durable workflows need a journal: a system with a store, or `journal`', { field: 'journal' });
    const clock = options.clock ?? system?.clock;
    if (clock === undefined) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'durable workflows need a clock: a system, or `clock`', { field: 'clock' });
    this.keepProcessAlive = options.keepAlive ?? false;
    this.journal = journal;
    this.clock = clock;
    this.publish = options.publish ?? (system === undefined ? () => {} : (e) => system.publish(e));
    this.writer = options.writer ?? system?.name ?? 'durable-workflows';
    this.pollMs = options.signalPollMs ?? DEFAULTS.durableWorkflow.signalPollMs;
    this.unregister = system?.registerWorkflows(this);
  }

  /**
   * Registers a definition under `name` (replacing one of that name). Runs record the name:
   * an app that resumes them must define it again, building the same steps from the same input.
   */
  define<I>(name: string, definition: WorkflowDefinition<I>): this {
    if (typeof name !== 'string' || name.length === 0) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'a workflow definition needs a name', { field: 'name' });
    if (typeof definition !== 'function') throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `definition '${name}' must be a function of the input`, { field: 'definition' });
    this.definitions.set(name, definition as WorkflowDefinition);
    return this;
  }

  /**
   * Starts a run of `name` with `input` (plain data); resolves once the run is durable and
   * driving. The spec is built and validated first (`ERR_WORKFLOW_CYCLE`, … — nothing is
   * written). An existing `runId` returns that run — finished, driven here, or resumed here
   * if unfinished — whatever `input` says (`ERR_INVALID_ARGUMENT` if it is of another
   * definition). Rejects `ERR_WORKFLOW_UNDEFINED` for an unknown name.
   */
  async start<I>(name: string, input: I, options: WorkflowStartOptions = {}): Promise<DurableRunHandle> {
    this.ensureRunning();
    const definition = this.definitions.get(name);
    if (definition === undefined) throw new ApiaryError(ErrorCodes.WORKFLOW_UNDEFINED, `no workflow definition '${name}'`, { field: 'name' });
    const runId = options.runId ?? this.newRunId(name);
    if (typeof runId !== 'string' || runId.length === 0) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'a run id must be a non-empty string', { field: 'runId' });
    const live = this.active.get(runId);
    if (live !== undefined) return sameDefinition(live.handle, name);
    const pending = this.taking.get(runId);
    if (pending !== undefined) return sameDefinition(await pending, name);
    buildTasks(definition, input, name); // validates before anything is written
    assertPlainData(input, 'input');
    return this.take(runId, async () => {
      const pid = runPid(runId);
      const claim = await this.journal.claim(pid, this.writer);
      if (claim.highestSeq > 0) {
        const record = fold(runId, await this.journal.read(pid, 1));
        if (record.definition !== name) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `run '${runId}' is a run of '${record.definition}', not '${name}'`, { field: 'runId' });
        if (record.end !== undefined) return finishedHandle(record);
        return this.drive(record, claim.epoch, claim.highestSeq + 1, 'resumed');
      }
      const at = this.clock.wallTime();
      const entry: Entry = { t: 'run', definition: name, input };
      await this.journal.append(pid, claim.epoch, 1, [entry], at);
      const record = fold(runId, [{ seq: 1, event: entry, at }]);
      return this.drive(record, claim.epoch, 2, 'started');
    });
  }

  /**
   * Resumes every unfinished run in the journal that this engine does not drive yet (after
   * a restart: call it once the definitions are defined). Resolves with how many it resumed;
   * a run it cannot resume (unknown definition, a journal that does not match it) is left as
   * it is and published as a `workflow-run` `suspended` event with the reason's code.
   */
  async resume(): Promise<number> {
    this.ensureRunning();
    const pids = await this.journal.ids(RUN_PREFIX, DEFAULTS.durableWorkflow.listLimit);
    let resumed = 0;
    for (const pid of pids) {
      const runId = pid.slice(RUN_PREFIX.length);
      if (this.active.has(runId) || this.taking.has(runId)) continue;
      const last = await this.lastEntry(pid);
      if (last === undefined || last.t === 'end') continue;
      try {
        await this.take(runId, async () => {
          const claim = await this.journal.claim(pid, this.writer);
          const record = fold(runId, await this.journal.read(pid, 1));
          if (record.end !== undefined) return finishedHandle(record);
          return this.drive(record, claim.epoch, claim.highestSeq + 1, 'resumed');
        });
        resumed++;
      } catch (err) {
        if (this.stopped) throw err;
        const record = await this.read(runId).catch(() => undefined);
        this.publish({ type: 'workflow-run', runId, definition: record?.definition ?? '?', state: 'suspended', reason: codeOf(err), at: this.clock.now() });
      }
    }
    return resumed;
  }

  /**
   * Sends a signal to a run: resolves once it is durable in the run's inbox. A step waiting
   * for `name` takes it (now or when it starts waiting, even after restarts); signals of one
   * name are taken in the order they were sent. `payload` must be plain data. Rejects
   * `ERR_WORKFLOW_NOT_FOUND` (no such run) or `ERR_WORKFLOW_FINISHED`.
   */
  async signal(runId: string, name: string, payload?: unknown): Promise<void> {
    this.ensureRunning();
    if (typeof name !== 'string' || name.length === 0) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'a signal needs a name', { field: 'name' });
    assertPlainData(payload, 'payload');
    const live = this.active.get(runId);
    if (live === undefined) {
      const last = await this.lastEntry(runPid(runId));
      if (last === undefined) throw new ApiaryError(ErrorCodes.WORKFLOW_NOT_FOUND, `no workflow run '${runId}'`, { field: 'runId' });
      if (last.t === 'end') throw new ApiaryError(ErrorCodes.WORKFLOW_FINISHED, `workflow run '${runId}' has finished`, { field: 'runId' });
    } else if (live.finished) throw new ApiaryError(ErrorCodes.WORKFLOW_FINISHED, `workflow run '${runId}' has finished`, { field: 'runId' });
    const pid = inboxPid(runId);
    // every sender claims the inbox: two senders at once fence each other, the loser tries again
    for (let i = 0; ; i++) {
      const claim = await this.journal.claim(pid, this.writer);
      try {
        await this.journal.append(pid, claim.epoch, claim.highestSeq + 1, [{ name, payload }], this.clock.wallTime());
        break;
      } catch (err) {
        if (codeOf(err) !== ErrorCodes.PERSISTENCE_FENCED || i >= DEFAULTS.durableWorkflow.signalAttempts) throw err;
      }
    }
    this.active.get(runId)?.pollInbox();
  }

  /** Cancels a run driven here, or one in the store (`ERR_WORKFLOW_NOT_FOUND`, `ERR_WORKFLOW_FINISHED`): see {@link DurableRunHandle.cancel}. */
  async cancel(runId: string): Promise<void> {
    this.ensureRunning();
    const live = this.active.get(runId);
    if (live !== undefined) return live.handle.cancel();
    const last = await this.lastEntry(runPid(runId));
    if (last === undefined) throw new ApiaryError(ErrorCodes.WORKFLOW_NOT_FOUND, `no workflow run '${runId}'`, { field: 'runId' });
    if (last.t === 'end') throw new ApiaryError(ErrorCodes.WORKFLOW_FINISHED, `workflow run '${runId}' has finished`, { field: 'runId' });
    // take the run over (a coordinator elsewhere is fenced), journal the cancel, then drive it:
    // it starts cancelled, so nothing is asked again
    await this.take(runId, async () => {
      const pid = runPid(runId);
      const claim = await this.journal.claim(pid, this.writer);
      const record = fold(runId, await this.journal.read(pid, 1));
      if (record.end !== undefined) throw new ApiaryError(ErrorCodes.WORKFLOW_FINISHED, `workflow run '${runId}' has finished`, { field: 'runId' });
      const at = this.clock.wallTime();
      const entry: Entry = { t: 'cancel' };
      await this.journal.append(pid, claim.epoch, claim.highestSeq + 1, [entry], at);
      apply(record, { seq: claim.highestSeq + 1, event: entry, at });
      return this.drive(record, claim.epoch, claim.highestSeq + 2, 'resumed');
    });
  }

  /** The handle of a run driven here, if any. */
  handle(runId: string): DurableRunHandle | undefined {
    return this.active.get(runId)?.handle;
  }

  /** Runs in the journal (up to `limit`, default 1000, in id order), each with its status. */
  async list(options: { limit?: number } = {}): Promise<WorkflowRunSummary[]> {
    const pids = await this.journal.ids(RUN_PREFIX, options.limit ?? DEFAULTS.durableWorkflow.listDefault);
    const out: WorkflowRunSummary[] = [];
    for (const pid of pids) {
      const runId = pid.slice(RUN_PREFIX.length);
      const [first] = await this.journal.read(pid, 1, 1);
      if (first === undefined || (first.event as Entry).t !== 'run') continue; // claimed, never started
      const run = first.event as Extract<Entry, { t: 'run' }>;
      const highest = await this.journal.highestSeq(pid);
      const [lastStored] = await this.journal.read(pid, highest, highest);
      const last = lastStored?.event as Entry | undefined;
      const summary: WorkflowRunSummary = { runId, definition: run.definition, status: last?.t === 'end' ? last.status : 'running', active: this.active.has(runId), startedAt: first.at };
      if (last?.t === 'end') summary.endedAt = lastStored!.at;
      out.push(summary);
    }
    return out;
  }

  /** One run, as journaled: steps, timers, signals (`ERR_WORKFLOW_NOT_FOUND` if none). */
  async get(runId: string): Promise<WorkflowRunInfo> {
    const record = await this.read(runId);
    const inbox = await this.journal.read(inboxPid(runId), 1);
    const steps: Record<string, WorkflowStepInfo> = {};
    const definition = this.definitions.get(record.definition);
    if (definition !== undefined) {
      try {
        for (const t of definition(structuredClone(record.input)).tasks) steps[t.id] = { state: 'queued', attempts: 0, starts: 0 };
      } catch {
        // the definition no longer builds this input: show what the journal has
      }
    }
    for (const [id, s] of record.steps) steps[id] = { ...s };
    const timers = [...record.steps].filter(([, s]) => s.wakeAt !== undefined && s.state === 'running').map(([step, s]) => ({ step, wakeAt: s.wakeAt! }));
    const signals: WorkflowSignalInfo[] = inbox.map((e) => {
      const { name, payload } = e.event as { name: string; payload: unknown };
      const consumedBy = record.consumed.get(e.seq);
      return { seq: e.seq, name, payload, at: e.at, ...(consumedBy === undefined ? {} : { consumedBy }) };
    });
    const info: WorkflowRunInfo = {
      runId,
      definition: record.definition,
      status: record.end?.status ?? 'running',
      active: this.active.has(runId),
      startedAt: record.startedAt,
      input: record.input,
      steps,
      timers,
      signals,
      cancelRequested: record.cancelRequested,
    };
    if (record.end !== undefined) info.endedAt = record.end.at;
    return info;
  }

  /**
   * Stops driving every run (as a crash would, but politely): in-flight asks are aborted,
   * timers cleared, nothing more is written; each run's `result` rejects
   * `ERR_WORKFLOWS_STOPPED` and the runs stay unfinished in the store for `resume()`. Later
   * calls reject `ERR_WORKFLOWS_STOPPED`.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unregister?.();
    const err = new ApiaryError(ErrorCodes.WORKFLOWS_STOPPED, 'the workflow engine stopped');
    for (const run of [...this.active.values()]) run.suspend(err);
    await Promise.allSettled([...this.taking.values()]);
    for (const run of [...this.active.values()]) run.suspend(err);
    this.holdProcess();
  }

  /** Holds the process while runs are driven (option keepAlive), lets go when none are. */
  private holdProcess(): void {
    if (this.active.size > 0 && this.keepProcessAlive && !this.stopped) this.release ??= keepAlive();
    else {
      this.release?.();
      this.release = undefined;
    }
  }

  private ensureRunning(): void {
    if (this.stopped) throw new ApiaryError(ErrorCodes.WORKFLOWS_STOPPED, 'the workflow engine stopped');
  }

  private newRunId(name: string): string {
    const rand = Math.floor(this.clock.random() * 36 ** 6).toString(36).padStart(6, '0');
    return `${name}-${this.clock.wallTime().toString(36)}-${rand}`;
  }

  private async take(runId: string, how: () => Promise<DurableRunHandle>): Promise<DurableRunHandle> {
    const p = how();
    this.taking.set(runId, p);
    try {
      return await p;
    } finally {
      this.taking.delete(runId);
    }
  }

  private async lastEntry(pid: string): Promise<Entry | undefined> {
    const highest = await this.journal.highestSeq(pid);
    if (highest === 0) return undefined;
    const [last] = await this.journal.read(pid, highest, highest);
    return last?.event as Entry | undefined;
  }

  private async read(runId: string): Promise<RunRecord> {
    const events = await this.journal.read(runPid(runId), 1);
    if (events.length === 0 || (events[0]!.event as Entry).t !== 'run') throw new ApiaryError(ErrorCodes.WORKFLOW_NOT_FOUND, `no workflow run '${runId}'`, { field: 'runId' });
    return fold(runId, events);
  }

  /** Drives a run from its record, under `epoch`; the next entry is `nextSeq`. */
  private async drive(record: RunRecord, epoch: number, nextSeq: number, how: 'started' | 'resumed'): Promise<DurableRunHandle> {
    this.ensureRunning();
    const definition = this.definitions.get(record.definition);
    if (definition === undefined) throw new ApiaryError(ErrorCodes.WORKFLOW_UNDEFINED, `run '${record.runId}' is of workflow '${record.definition}', which is not defined here`, { field: 'definition' });
    const steps = buildTasks(definition, structuredClone(record.input), record.definition);
    checkDeterministic(record, steps);
    const inbox = await this.journal.read(inboxPid(record.runId), 1);
    const run = new ActiveRun(record, steps, epoch, nextSeq, inbox, {
      journal: this.journal,
      clock: this.clock,
      publish: this.publish,
      pollMs: this.pollMs,
      done: () => {
        this.active.delete(record.runId);
        this.holdProcess();
      },
    });
    this.active.set(record.runId, run);
    this.holdProcess();
    this.publish({ type: 'workflow-run', runId: record.runId, definition: record.definition, state: how, at: this.clock.now() });
    run.begin();
    return run.handle;
  }
}

interface RunContext {
  journal: EventJournal;
  clock: Clock;
  publish: (e: SystemEvent) => void;
  pollMs: number;
  done: () => void;
}

interface QueuedEntry {
  entry: Entry;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface Waiter {
  step: string;
  name: string;
  resolve: (payload: unknown) => void;
}

/** One run driven by this engine: its journal writer, timers, signal inbox and the runner. */
class ActiveRun {
  readonly handle: DurableRunHandle;
  finished = false;
  /** The end entry is queued: nothing more is written. */
  private ended = false;
  private readonly pid: string;
  private runner: RunnerHandle | undefined;
  private readonly queue: QueuedEntry[] = [];
  private writing = false;
  private halted: unknown;
  private readonly timers = new Map<string, TimerHandle>();
  /** Inbox signals not taken yet, in order. */
  private readonly available: { seq: number; name: string; payload: unknown }[] = [];
  private inboxSeen = 0;
  private readonly taken = new Map<string, number>();
  private readonly waiters: Waiter[] = [];
  private pollTimer: TimerHandle | undefined;
  private polling = false;
  private pollAgain = false;
  private resolveResult!: (r: WorkflowResult) => void;
  private rejectResult!: (err: unknown) => void;

  constructor(
    private readonly record: RunRecord,
    private readonly steps: readonly DurableStep[],
    private readonly epoch: number,
    private nextSeq: number,
    inbox: readonly StoredEvent[],
    private readonly ctx: RunContext,
  ) {
    this.pid = runPid(record.runId);
    this.takeInbox(inbox);
    const result = new Promise<WorkflowResult>((resolve, reject) => {
      this.resolveResult = resolve;
      this.rejectResult = reject;
    });
    result.catch(() => {}); // a caller that never looks at result is not an unhandled rejection
    this.handle = {
      runId: record.runId,
      definition: record.definition,
      result,
      cancel: () => this.cancel(),
      states: () => this.runner?.states() ?? {},
    };
  }

  begin(): void {
    const { clock, publish } = this.ctx;
    const settled = new Map<string, TaskOutcome>();
    for (const [id, s] of this.record.steps) {
      if (s.state === 'completed' || s.state === 'failed' || s.state === 'cancelled') {
        settled.set(id, { state: s.state, value: s.value, ...(s.error === undefined ? {} : { error: s.error }), attempts: s.attempts });
      }
    }
    const tasks: RunnerTask[] = this.steps.map((s) => {
      if ('sleep' in s) return { id: s.id, dependsOn: s.dependsOn, perform: (_i, signal) => this.sleep(s, signal) } as RunnerTask;
      if ('waitFor' in s) return { id: s.id, dependsOn: s.dependsOn, perform: (_i, signal) => this.waitFor(s, signal) } as RunnerTask;
      return s;
    });
    // a cancel journaled before a crash: cancelled before anything starts again
    const signal = this.record.cancelRequested ? AbortSignal.abort() : undefined;
    this.runner = runTasks({ name: this.record.runId, tasks }, { clock, publish, ...(signal === undefined ? {} : { signal }) }, {
      settled,
      started: (step) => void this.write({ t: 'step-started', step }).catch(() => {}),
      commit: (step, o) => this.write(this.stepEntry(step, o)),
    });
    void this.runner.result.then((r) => this.end(r));
  }

  /** Journals the step's outcome: a completed value that is not plain data fails the step instead. */
  private stepEntry(step: string, o: TaskOutcome): Entry {
    const entry: Entry = { t: 'step', step, state: o.state as 'completed' | 'failed' | 'cancelled', attempts: o.attempts };
    if (o.error !== undefined) entry.error = o.error;
    if (o.state === 'completed') {
      try {
        assertPlainData(o.value, `steps.${step}`);
        entry.value = o.value;
      } catch (err) {
        // keep the runner's view and the journal the same: the outcome itself changes
        o.state = 'failed';
        o.error = serializeError(err);
        delete o.value;
        return { t: 'step', step, state: 'failed', attempts: o.attempts, error: o.error };
      }
      const signal = this.taken.get(step);
      if (signal !== undefined) entry.signal = signal;
    }
    return entry;
  }

  private async cancel(): Promise<void> {
    if (this.finished || this.ended) throw new ApiaryError(ErrorCodes.WORKFLOW_FINISHED, `workflow run '${this.record.runId}' has finished`, { field: 'runId' });
    if (this.halted !== undefined) throw this.halted;
    await this.write({ t: 'cancel' });
    this.runner?.cancel();
  }

  private async end(r: WorkflowResult): Promise<void> {
    try {
      await this.write({ t: 'end', status: r.status });
    } catch {
      return; // halted: the result was rejected there
    }
    this.finished = true;
    this.stopWaiting();
    this.ctx.done();
    this.ctx.publish({ type: 'workflow-run', runId: this.record.runId, definition: this.record.definition, state: r.status, at: this.ctx.clock.now() });
    this.resolveResult(r);
  }

  /** Stops driving the run here (engine stopped, fenced, store failure); nothing more is written. */
  suspend(err: unknown): void {
    if (this.halted !== undefined || this.finished) return;
    this.halted = err;
    this.runner?.halt();
    for (const t of this.timers.values()) this.ctx.clock.clearTimeout(t);
    this.timers.clear();
    this.stopWaiting();
    for (const q of this.queue.splice(0)) q.reject(err);
    this.ctx.done();
    this.ctx.publish({ type: 'workflow-run', runId: this.record.runId, definition: this.record.definition, state: 'suspended', reason: codeOf(err), at: this.ctx.clock.now() });
    this.rejectResult(err);
  }

  /** Appends `entry` after those queued before it; entries queued meanwhile share one append. Nothing follows the end. */
  private write(entry: Entry): Promise<void> {
    if (this.halted !== undefined) return Promise.reject(this.halted);
    if (this.ended) return Promise.reject(new ApiaryError(ErrorCodes.WORKFLOW_FINISHED, `workflow run '${this.record.runId}' has finished`, { field: 'runId' }));
    if (entry.t === 'end') this.ended = true;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      this.flush();
    });
  }

  private flush(): void {
    if (this.writing || this.queue.length === 0 || this.halted !== undefined) return;
    const batch = this.queue.splice(0);
    const at = this.ctx.clock.wallTime();
    this.writing = true;
    this.ctx.journal.append(this.pid, this.epoch, this.nextSeq, batch.map((q) => q.entry), at).then(
      () => {
        this.writing = false;
        batch.forEach((q, i) => apply(this.record, { seq: this.nextSeq + i, event: q.entry, at }));
        this.nextSeq += batch.length;
        for (const q of batch) q.resolve();
        this.flush();
      },
      (err: unknown) => {
        this.writing = false;
        for (const q of batch) q.reject(err);
        this.suspend(err);
      },
    );
  }

  // --- durable timers ---

  private async sleep(step: SleepStep, signal: AbortSignal): Promise<unknown> {
    let wakeAt = this.record.steps.get(step.id)?.wakeAt;
    if (wakeAt === undefined) {
      wakeAt = this.ctx.clock.wallTime() + Math.max(0, step.sleep);
      await this.write({ t: 'timer', step: step.id, wakeAt });
    }
    const until = wakeAt;
    const { clock } = this.ctx;
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        clock.clearTimeout(this.timers.get(step.id));
        this.timers.delete(step.id);
        reject(new ApiaryError(ErrorCodes.ABORTED, `timer '${step.id}' aborted`));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      const check = (): void => {
        const left = until - clock.wallTime();
        if (left <= 0) {
          this.timers.delete(step.id);
          signal.removeEventListener('abort', onAbort);
          return resolve();
        }
        this.timers.set(step.id, clock.setTimeout(check, Math.min(left, MAX_TIMER_MS)));
      };
      check();
    });
    return until;
  }

  // --- signals ---

  private waitFor(step: SignalStep, signal: AbortSignal): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const i = this.available.findIndex((s) => s.name === step.waitFor);
      if (i >= 0) {
        const [s] = this.available.splice(i, 1);
        this.taken.set(step.id, s!.seq);
        return resolve(s!.payload);
      }
      const waiter: Waiter = { step: step.id, name: step.waitFor, resolve };
      this.waiters.push(waiter);
      signal.addEventListener(
        'abort',
        () => {
          const at = this.waiters.indexOf(waiter);
          if (at >= 0) this.waiters.splice(at, 1);
          reject(new ApiaryError(ErrorCodes.ABORTED, `wait for signal '${step.waitFor}' aborted`));
        },
        { once: true },
      );
      this.schedulePoll();
    });
  }

  /** Takes new inbox entries: waiting steps first, the rest kept for later. */
  private takeInbox(events: readonly StoredEvent[]): void {
    for (const e of events) {
      if (e.seq <= this.inboxSeen) continue;
      this.inboxSeen = e.seq;
      if (this.record.consumed.has(e.seq)) continue;
      const { name, payload } = e.event as { name: string; payload: unknown };
      const w = this.waiters.findIndex((x) => x.name === name);
      if (w >= 0) {
        const [waiter] = this.waiters.splice(w, 1);
        this.taken.set(waiter!.step, e.seq);
        waiter!.resolve(payload);
      } else this.available.push({ seq: e.seq, name, payload });
    }
  }

  /** Reads the inbox past what was seen (a local signal, or a poll while a step waits). */
  pollInbox(): void {
    if (this.halted !== undefined || this.finished) return;
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    this.polling = true;
    this.ctx.journal.read(inboxPid(this.record.runId), this.inboxSeen + 1).then(
      (events) => {
        this.polling = false;
        if (this.halted !== undefined) return;
        this.takeInbox(events);
        if (this.pollAgain) {
          this.pollAgain = false;
          this.pollInbox();
        } else this.schedulePoll();
      },
      () => {
        this.polling = false;
        this.schedulePoll(); // a store hiccup: the next poll tries again
      },
    );
  }

  private schedulePoll(): void {
    if (this.waiters.length === 0 || this.pollTimer !== undefined || this.ctx.pollMs <= 0 || this.halted !== undefined) return;
    this.pollTimer = this.ctx.clock.setTimeout(() => {
      this.pollTimer = undefined;
      if (this.waiters.length > 0) this.pollInbox();
    }, this.ctx.pollMs);
  }

  private stopWaiting(): void {
    this.ctx.clock.clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
  }
}

/** A handle for a run that has finished: its result, from the journal. */
function finishedHandle(record: RunRecord): DurableRunHandle {
  const tasks: Record<string, TaskOutcome> = {};
  for (const [id, s] of record.steps) {
    const o: TaskOutcome = { state: s.state, attempts: s.attempts };
    if (s.value !== undefined) o.value = s.value;
    if (s.error !== undefined) o.error = s.error;
    tasks[id] = o;
  }
  return {
    runId: record.runId,
    definition: record.definition,
    result: Promise.resolve({ name: record.runId, status: record.end!.status as WorkflowResult['status'], tasks }),
    cancel: async () => {
      throw new ApiaryError(ErrorCodes.WORKFLOW_FINISHED, `workflow run '${record.runId}' has finished`, { field: 'runId' });
    },
    states: () => Object.fromEntries([...record.steps].map(([id, s]) => [id, s.state])),
  };
}

/** Builds and validates a definition's steps for `input` (throws like runWorkflow, `ERR_INVALID_SPEC` for a bad step). */
function buildTasks(definition: WorkflowDefinition, input: unknown, name: string): DurableStep[] {
  const spec = definition(input);
  const tasks = spec?.tasks;
  topologicalOrder(tasks);
  tasks.forEach((t, i) => {
    const kinds = ['sleep' in t, 'waitFor' in t, 'target' in t].filter(Boolean).length;
    if (kinds !== 1) throw new ApiaryError(ErrorCodes.INVALID_SPEC, `${name}: step '${t.id}' needs exactly one of target, sleep, waitFor`, { field: `tasks[${i}]` });
    if ('sleep' in t && !(Number.isFinite(t.sleep) && t.sleep >= 0)) throw new ApiaryError(ErrorCodes.INVALID_SPEC, `${name}: step '${t.id}' sleeps a bad time`, { field: `tasks[${i}].sleep` });
    if ('waitFor' in t && (typeof t.waitFor !== 'string' || t.waitFor.length === 0)) throw new ApiaryError(ErrorCodes.INVALID_SPEC, `${name}: step '${t.id}' needs a signal name`, { field: `tasks[${i}].waitFor` });
    if ('target' in t && typeof t.target?.ask !== 'function') throw new ApiaryError(ErrorCodes.INVALID_SPEC, `${name}: step '${t.id}' needs a target ref`, { field: `tasks[${i}].target` });
  });
  return tasks;
}

/** The journal names only steps the definition still builds, each of its kind. */
function checkDeterministic(record: RunRecord, steps: readonly DurableStep[]): void {
  const byId = new Map(steps.map((s) => [s.id, s]));
  for (const [id, s] of record.steps) {
    const step = byId.get(id);
    const signalTaken = [...record.consumed.values()].includes(id);
    if (step === undefined || (s.wakeAt !== undefined && !('sleep' in step)) || (signalTaken && !('waitFor' in step))) {
      throw new ApiaryError(ErrorCodes.WORKFLOW_NONDETERMINISTIC, `run '${record.runId}': its journal has step '${id}', which '${record.definition}' no longer builds as it was`, { field: id });
    }
  }
}

function fold(runId: string, events: readonly StoredEvent[]): RunRecord {
  const first = events[0];
  const run = first?.event as Entry | undefined;
  if (run?.t !== 'run') throw new ApiaryError(ErrorCodes.STORE_CORRUPT, `workflow run '${runId}': its journal does not start with the run`, { field: runPid(runId) });
  const record: RunRecord = { runId, definition: run.definition, input: run.input, startedAt: first!.at, steps: new Map(), consumed: new Map(), cancelRequested: false };
  for (const e of events.slice(1)) apply(record, e);
  return record;
}

/** Folds one journal entry into the record. */
function apply(record: RunRecord, e: StoredEvent): void {
  const entry = e.event as Entry;
  const step = (id: string): WorkflowStepInfo => {
    let s = record.steps.get(id);
    if (s === undefined) record.steps.set(id, (s = { state: 'queued', attempts: 0, starts: 0 }));
    return s;
  };
  switch (entry.t) {
    case 'step-started': {
      const s = step(entry.step);
      s.state = 'running';
      s.starts++;
      s.startedAt = e.at;
      return;
    }
    case 'timer':
      step(entry.step).wakeAt = entry.wakeAt;
      return;
    case 'step': {
      const s = step(entry.step);
      s.state = entry.state;
      s.attempts = entry.attempts;
      s.endedAt = e.at;
      if (entry.value !== undefined) s.value = entry.value;
      if (entry.error !== undefined) s.error = entry.error;
      if (entry.signal !== undefined) record.consumed.set(entry.signal, entry.step);
      return;
    }
    case 'cancel':
      record.cancelRequested = true;
      return;
    case 'end':
      record.end = { status: entry.status, at: e.at };
      return;
    case 'run':
      return;
  }
}

function sameDefinition(handle: DurableRunHandle, name: string): DurableRunHandle {
  if (handle.definition !== name) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `run '${handle.runId}' is a run of '${handle.definition}', not '${name}'`, { field: 'runId' });
  return handle;
}

function codeOf(err: unknown): string {
  return err instanceof ApiaryError ? err.code : ((err as { code?: string })?.code ?? 'ERR_UNKNOWN');
}
