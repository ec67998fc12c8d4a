/**
 * How the node (its admin API, and so the CLI) reaches the durable-workflow engine without
 * importing the toolkit: the engine (toolkit/durable-workflow.ts `DurableWorkflows`, given
 * `system`) registers itself with {@link ActorSystem.registerWorkflows} as a
 * {@link WorkflowSource}; `GET /workflows`, `GET /workflows/{runId}` and
 * `POST /workflows/{runId}/signals/{name}` call it.
 *
 * Owns: the interface and the plain-data shapes of run listings. Does not own runs (the
 * engine) or HTTP (runtime/admin/admin-server.ts). Threads: thread 0 (where the engine runs).
 */
import type { SerializedError } from '../../actors/foundation/errors.js';

export type WorkflowRunStatus = 'running' | 'completed' | 'failed' | 'cancelled';

/** A durable workflow run as listed. */
export interface WorkflowRunSummary {
  runId: string;
  definition: string;
  status: WorkflowRunStatus;
  /** Driven by this engine now. */
  active: boolean;
  /** Wall-clock ms. */
  startedAt: number;
  endedAt?: number;
}

/** One step of a run, as journaled. */
export interface WorkflowStepInfo {
  /** `queued` (not started), `running` (started, no outcome journaled: in flight, or lost in a crash), or its outcome. */
  state: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
  value?: unknown;
  error?: SerializedError;
  /** Attempts of the coordinator that settled it (retries start over after a resume). */
  attempts: number;
  /** Times it started (more than 1: it was in flight at a crash and ran again). */
  starts: number;
  /** Wall-clock ms. */
  startedAt?: number;
  endedAt?: number;
  /** A timer step's wake-up time, wall-clock ms. */
  wakeAt?: number;
}

/** A signal in a run's inbox. */
export interface WorkflowSignalInfo {
  seq: number;
  name: string;
  payload: unknown;
  /** Wall-clock ms it was made durable. */
  at: number;
  /** The step that took it (journaled), if any. */
  consumedBy?: string;
}

/** One run in full. */
export interface WorkflowRunInfo extends WorkflowRunSummary {
  input: unknown;
  /** Every step (those the journal does not name yet as `queued`, when the definition is known). */
  steps: Record<string, WorkflowStepInfo>;
  /** Timers journaled and not yet fired. */
  timers: { step: string; wakeAt: number }[];
  signals: WorkflowSignalInfo[];
  cancelRequested: boolean;
}

/** What the node needs of a durable-workflow engine. */
export interface WorkflowSource {
  /** Runs in id order, up to `limit`. */
  list(options?: { limit?: number }): Promise<WorkflowRunSummary[]>;
  /** One run; rejects `ERR_WORKFLOW_NOT_FOUND`. */
  get(runId: string): Promise<WorkflowRunInfo>;
  /** Resolves once the signal is durable; rejects `ERR_WORKFLOW_NOT_FOUND`, `ERR_WORKFLOW_FINISHED`. */
  signal(runId: string, name: string, payload?: unknown): Promise<void>;
}

/** Where an engine registers itself (an ActorSystem). */
export interface WorkflowHost {
  /** Makes `source` the node's engine; the function returned unregisters it. */
  registerWorkflows(source: WorkflowSource): () => void;
}
