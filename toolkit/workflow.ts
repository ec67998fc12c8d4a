/**
 * Workflows: run a DAG of tasks, each sent to an agent (any ref — a local actor, one on
 * another thread, a router, a Guard) with its own timeout, retry policy and fallback.
 *
 * Owns: one run — starting every task whose dependencies completed (independent branches
 * run in parallel), giving each task its dependencies' results, the task states `queued →
 * running → completed | failed | cancelled` (as `task-state` events and in the result),
 * failing only the dependents of a failed task (`ERR_DEPENDENCY_FAILED`; a task with a
 * fallback completes with the fallback's answer instead), and cancelling: every in-flight
 * task's ask is aborted, so the agent's `context.signal` fires (across threads too), and
 * queued tasks never start. Does not own: validation (workflow-graph.ts) or retry timing
 * (with-retry.ts). Time: the given clock. Threads: the caller's; agents anywhere.
 */
import type { AskOptions } from '../actors/actor-ref.js';
import type { Clock } from '../actors/foundation/clock.js';
import { ApiaryError, ErrorCodes, serializeError, type SerializedError } from '../actors/foundation/errors.js';
import type { SystemEvent } from '../actors/events.js';
import { DEFAULTS } from './defaults.js';
import { withFallback, type Fallback } from './fallback.js';
import type { RetryPolicy } from './retry-policy.js';
import { withRetry } from './with-retry.js';
import { dependentsOf, topologicalOrder, type GraphNode } from './workflow-graph.js';

export type TaskState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

/** The results of a task's dependencies, by task id. */
export type TaskInputs = Record<string, unknown>;

/** Anything with `ask`: an ActorRef (local, other thread, a RouterActor, a Guard) or a {@link Router}. */
export interface Askable<M = any, R = any> {
  ask(message: M, options?: AskOptions): Promise<R>;
}

export interface TaskSpec<M = any, R = any> {
  id: string;
  dependsOn?: string[];
  /** The agent: any ref (a router or a Guard too), or a Router. */
  target: Askable<M, R>;
  /** The message, or a function of the dependencies' results. */
  message: M | ((inputs: TaskInputs) => M);
  /** ms per attempt. Default 30 000. */
  timeout?: number;
  retry?: RetryPolicy;
  /** Used when the task fails (after its retries): its answer becomes the task's result. */
  fallback?: Fallback<M, R>;
}

export interface WorkflowSpec {
  /** Names the run in events. Default `workflow-<n>`. */
  name?: string;
  tasks: TaskSpec[];
}

export interface TaskOutcome {
  state: TaskState;
  value?: unknown;
  error?: SerializedError;
  attempts: number;
  /** Clock times (ms) the task started and ended running. */
  startedAt?: number;
  endedAt?: number;
}

export interface WorkflowResult {
  name: string;
  /** `completed` when every task completed, `cancelled` when cancelled, else `failed`. */
  status: 'completed' | 'failed' | 'cancelled';
  tasks: Record<string, TaskOutcome>;
}

export interface WorkflowHandle {
  readonly name: string;
  /** Resolves when every task is settled (never rejects). */
  readonly result: Promise<WorkflowResult>;
  /** Aborts in-flight tasks (their agents' signals fire) and cancels queued ones. */
  cancel(): void;
  /** Task states now. */
  states(): Record<string, TaskState>;
}

export interface RunOptions {
  clock: Clock;
  /** Where `task-state` events go (e.g. `system.publish`). */
  publish?: (e: SystemEvent) => void;
  /** Aborting it cancels the workflow. */
  signal?: AbortSignal;
}

let runs = 0;

/**
 * Validates `spec` (throws `ERR_WORKFLOW_CYCLE`, `ERR_UNKNOWN_DEPENDENCY` or
 * `ERR_INVALID_SPEC` before anything runs) and starts it.
 */
export function runWorkflow(spec: WorkflowSpec, options: RunOptions): WorkflowHandle {
  topologicalOrder(spec.tasks);
  spec.tasks.forEach((t, i) => {
    if (typeof t.target?.ask !== 'function') throw new ApiaryError(ErrorCodes.INVALID_SPEC, `task '${t.id}' needs a target ref`, { field: `tasks[${i}].target` });
  });
  const { halt: _halt, ...handle } = runTasks({ name: spec.name ?? `workflow-${++runs}`, tasks: spec.tasks }, options);
  return handle;
}

/** A task of the shared runner: an ask, or work of its own (a durable timer, a signal wait). */
export type RunnerTask = TaskSpec | (GraphNode & { perform: (inputs: TaskInputs, signal: AbortSignal) => Promise<unknown> });

/**
 * What the durable mode adds to a run (toolkit/durable-workflow.ts). Without hooks a run is
 * the in-memory one of {@link runWorkflow}.
 */
export interface RunnerHooks {
  /** Tasks already settled (from a journal): they keep their outcome and never run again. */
  settled?: ReadonlyMap<string, TaskOutcome>;
  /** A task began running (its first attempt). */
  started?(id: string): void;
  /**
   * Makes a settled outcome durable before anyone sees it: the task's state, its dependents
   * and the run's result wait for the promise. A rejection halts the run (see halt). It may
   * change `outcome` before resolving (a completed value that cannot be stored becomes a
   * failure): what it resolves with is what the run sees.
   */
  commit?(id: string, outcome: TaskOutcome): Promise<void>;
}

/** A run of the shared runner: the handle, plus halt. */
export interface RunnerHandle extends WorkflowHandle {
  /**
   * Stops driving the run without settling anything: in-flight asks are aborted, nothing
   * more starts, nothing more is committed, `result` never resolves. For a coordinator that
   * lost the run (fenced, store failure, stopped).
   */
  halt(): void;
}

/**
 * The one runner behind {@link runWorkflow} and durable runs: `spec` is already validated.
 * Settled tasks (`hooks.settled`) count as done; their failures fail their queued dependents.
 */
export function runTasks(spec: { name: string; tasks: readonly RunnerTask[] }, options: RunOptions, hooks: RunnerHooks = {}): RunnerHandle {
  const { name } = spec;
  const { clock } = options;
  const publish = options.publish ?? (() => {});
  const abort = new AbortController();
  const outcomes = new Map<string, TaskOutcome>(spec.tasks.map((t) => [t.id, hooks.settled?.get(t.id) ?? { state: 'queued', attempts: 0 }]));
  /** Tasks whose terminal outcome is being committed: settled once only. */
  const settling = new Set<string>();
  let finish!: (r: WorkflowResult) => void;
  const result = new Promise<WorkflowResult>((resolve) => (finish = resolve));
  let cancelled = false;
  let halted = false;
  let open = [...outcomes.values()].filter((o) => !isTerminal(o.state)).length;

  const finishIfDone = (): void => {
    if (open !== 0) return;
    const tasks = Object.fromEntries(outcomes);
    const states = [...outcomes.values()].map((x) => x.state);
    const status = cancelled ? 'cancelled' : states.every((s) => s === 'completed') ? 'completed' : 'failed';
    finish({ name, status, tasks });
  };

  /** A non-terminal change (running, a new attempt): visible at once. */
  const set = (id: string, patch: Partial<TaskOutcome>): void => {
    if (halted) return;
    const o = { ...outcomes.get(id)!, ...patch };
    outcomes.set(id, o);
    publish({ type: 'task-state', workflow: name, task: id, state: o.state, attempt: o.attempts, at: clock.now() });
  };

  /** A terminal change: committed (durable mode), then visible, then its consequences. */
  const settle = (id: string, patch: Partial<TaskOutcome>, origin = true): void => {
    if (halted || settling.has(id) || isTerminal(outcomes.get(id)!.state)) return;
    const o = { ...outcomes.get(id)!, ...patch };
    const apply = (): void => {
      if (halted) return;
      settling.delete(id);
      outcomes.set(id, o);
      publish({ type: 'task-state', workflow: name, task: id, state: o.state, attempt: o.attempts, at: clock.now() });
      open--;
      finishIfDone();
      if (o.state === 'completed') startReady();
      else if (o.state === 'failed' && origin) failDependents(id);
    };
    if (hooks.commit === undefined) return apply();
    settling.add(id);
    hooks.commit(id, o).then(apply, halt);
  };

  const startReady = (): void => {
    if (cancelled || halted) return;
    for (const t of spec.tasks) {
      if (outcomes.get(t.id)!.state !== 'queued' || settling.has(t.id)) continue;
      if ((t.dependsOn ?? []).every((d) => outcomes.get(d)!.state === 'completed')) start(t);
    }
  };

  const start = (t: RunnerTask): void => {
    const inputs: TaskInputs = {};
    for (const d of t.dependsOn ?? []) inputs[d] = outcomes.get(d)!.value;
    const signal = abort.signal;
    let run: Promise<unknown>;
    if ('perform' in t) {
      set(t.id, { state: 'running', attempts: 1, startedAt: clock.now() });
      hooks.started?.(t.id);
      run = t.perform(inputs, signal);
    } else {
      const timeout = t.timeout ?? DEFAULTS.workflow.taskTimeout;
      let message: unknown;
      try {
        message = typeof t.message === 'function' ? (t.message as (i: TaskInputs) => unknown)(inputs) : t.message;
      } catch (err) {
        set(t.id, { state: 'running', attempts: 0, startedAt: clock.now() });
        return failed(t, err);
      }
      const attempt = (n: number): Promise<unknown> => {
        set(t.id, n === 1 ? { state: 'running', attempts: 1, startedAt: clock.now() } : { state: 'running', attempts: n });
        if (n === 1) hooks.started?.(t.id);
        return t.target.ask(message, { timeout, signal });
      };
      const retried = t.retry ? () => withRetry(attempt, t.retry!, { clock, signal }) : () => attempt(1);
      run = t.fallback ? withFallback(retried, t.fallback, message, { signal, when: () => !signal.aborted }) : retried();
    }
    run.then(
      (value) => {
        if (outcomes.get(t.id)!.state !== 'running') return;
        settle(t.id, { state: 'completed', value, endedAt: clock.now() });
      },
      (err: unknown) => {
        if (halted || outcomes.get(t.id)!.state !== 'running') return;
        if (signal.aborted) return settle(t.id, { state: 'cancelled', error: serializeError(err), endedAt: clock.now() });
        failed(t, err);
      },
    );
  };

  /** A running task failed: it and (once that is settled) its queued dependents fail. */
  const failed = (t: GraphNode, err: unknown): void => settle(t.id, { state: 'failed', error: serializeError(err), endedAt: clock.now() });

  /** Fails the queued dependents (only those) of a failed task. */
  const failDependents = (id: string): void => {
    const dependencyFailed = serializeError(new ApiaryError(ErrorCodes.DEPENDENCY_FAILED, `task '${id}' failed`));
    for (const d of dependentsOf(spec.tasks, id)) {
      if (outcomes.get(d)!.state === 'queued') settle(d, { state: 'failed', error: dependencyFailed }, false);
    }
    startReady();
  };

  const cancel = (): void => {
    if (cancelled || halted || open === 0) return;
    cancelled = true;
    for (const [id, o] of outcomes) if (o.state === 'queued') settle(id, { state: 'cancelled' });
    abort.abort(); // in-flight asks reject ERR_ABORTED → their tasks are cancelled
  };

  function halt(): void {
    if (halted) return;
    halted = true;
    abort.abort();
  }

  if (options.signal?.aborted) cancel();
  else options.signal?.addEventListener('abort', cancel, { once: true });

  for (const t of spec.tasks) if (outcomes.get(t.id)!.state === 'queued') publish({ type: 'task-state', workflow: name, task: t.id, state: 'queued', attempt: 0, at: clock.now() });
  finishIfDone();
  // a failure settled before (a resumed run) still fails its dependents
  for (const [id, o] of outcomes) if (o.state === 'failed' && !cancelled) failDependents(id);
  startReady();
  return {
    name,
    result,
    cancel,
    halt,
    states: () => Object.fromEntries([...outcomes].map(([id, o]) => [id, o.state])),
  };
}

function isTerminal(state: TaskState): boolean {
  return state === 'completed' || state === 'failed' || state === 'cancelled';
}
