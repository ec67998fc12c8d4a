/**
 * The one error class of apiary.
 *
 * Owns: {@link ApiaryError} and the list of stable {@link ErrorCode}s. Tests and callers
 * branch on `code` (and `field` for invalid specs), never on the message text.
 * Threads: errors cross threads as plain data via {@link serializeError}.
 */

/** Every stable error code apiary throws or rejects with. */
export const ErrorCodes = {
  /** An ask got no reply within its timeout; a reply arriving later is dropped. */
  ASK_TIMEOUT: 'ERR_ASK_TIMEOUT',
  /** The target actor is stopped (or never existed); the message became a dead letter. */
  ACTOR_STOPPED: 'ERR_ACTOR_STOPPED',
  /** The actor's `receive` threw or rejected while handling this ask; `cause` is the error. */
  ACTOR_FAILED: 'ERR_ACTOR_FAILED',
  /** The target's bounded mailbox was full (policy `reject`) or dropped this message. */
  MAILBOX_FULL: 'ERR_MAILBOX_FULL',
  /**
   * The link to the target's thread or node holds as much as it may (its receiver is behind,
   * or the peer does not read): the message was refused at the sender and became a dead
   * letter (`link-overflow`). Nothing was sent; sending later may succeed.
   */
  BACKPRESSURE: 'ERR_BACKPRESSURE',
  /** An actor's `started` hook threw, so the actor never ran. */
  START_FAILED: 'ERR_START_FAILED',
  /** A supervisor or child spec is invalid; `field` names the offending field. */
  INVALID_SPEC: 'ERR_INVALID_SPEC',
  /** Two children of one supervisor share an id; `field` names the child. */
  DUPLICATE_CHILD_ID: 'ERR_DUPLICATE_CHILD_ID',
  /** No child with that id under this supervisor. */
  NO_SUCH_CHILD: 'ERR_NO_SUCH_CHILD',
  /** The child is running; terminate it first. */
  CHILD_RUNNING: 'ERR_CHILD_RUNNING',
  /** The operation does not apply to this supervisor's strategy. */
  UNSUPPORTED: 'ERR_UNSUPPORTED',
  /** A name is already registered to a live actor. */
  NAME_TAKEN: 'ERR_NAME_TAKEN',
  /** The actor system is stopping or stopped. */
  SYSTEM_STOPPED: 'ERR_SYSTEM_STOPPED',
  /** An Actor was constructed outside `spawn` (e.g. with `new`). */
  NOT_IN_SPAWN: 'ERR_NOT_IN_SPAWN',
  /** A message holds something that cannot leave its thread (a function, symbol, class instance with methods). */
  UNSERIALIZABLE: 'ERR_UNSERIALIZABLE',
  /** An encoded message exceeds the size cap. */
  MESSAGE_TOO_LARGE: 'ERR_MESSAGE_TOO_LARGE',
  /** An actor's module could not be loaded (missing, or it threw while loading), or does not export that actor. */
  MODULE_NOT_FOUND: 'ERR_MODULE_NOT_FOUND',
  /**
   * An actor class meant for another thread or node is defined in the app's entry module (the
   * file node was started with): loading it there would run the whole app again. Nothing was
   * spawned; move the class to a module of its own.
   */
  ENTRY_MODULE: 'ERR_ENTRY_MODULE',
  /**
   * An actor's module did not finish loading within the create timeout (`createTimeoutMs`),
   * e.g. a top-level `await` that never settles. Nothing was spawned; the thread keeps running.
   */
  MODULE_TIMEOUT: 'ERR_MODULE_TIMEOUT',
  /**
   * A worker thread did not answer in time: it did not boot within `bootTimeoutMs` (or no
   * worker came back up within it), or it did not answer a create within `createTimeoutMs`.
   * Nothing was spawned.
   */
  WORKER_TIMEOUT: 'ERR_WORKER_TIMEOUT',
  /** The worker thread hosting the target is gone. */
  THREAD_GONE: 'ERR_THREAD_GONE',
  /** A frame from another node is over budget or does not decode; its link is closed. */
  MALFORMED_FRAME: 'ERR_MALFORMED_FRAME',
  /** A node link's handshake failed (wrong secret, protocol mismatch, timeout). */
  HANDSHAKE_FAILED: 'ERR_HANDSHAKE_FAILED',
  /**
   * A node was asked to accept node links unprotected: without a cluster secret (allowed only
   * with `insecure`, and on loopback only even then), or in plaintext (no TLS) beyond loopback
   * without `insecure`. `field` names the option to give. Nothing listens.
   */
  INSECURE_LISTEN: 'ERR_INSECURE_LISTEN',
  /**
   * A node was asked to dial a node link in plaintext (`ws://`) to a host beyond loopback
   * without `insecure`: a seed is refused when the node starts (`field`: `cluster.seeds`); a
   * gossiped address is never dialled (counted as a `plaintext` refusal).
   */
  INSECURE_DIAL: 'ERR_INSECURE_DIAL',
  /** An argument has the wrong type or range; `field` names it. */
  INVALID_ARGUMENT: 'ERR_INVALID_ARGUMENT',
  /**
   * A node's configuration (flags, environment, config file) has bad fields; `field` names the
   * first, `issues` (on the ConfigError of runtime/config) lists every one. Nothing started.
   */
  INVALID_CONFIG: 'ERR_INVALID_CONFIG',
  /** The target's node is down, gone, or not (yet) a member; an ask to it rejects at once. */
  NODE_DOWN: 'ERR_NODE_DOWN',
  /** A circuit breaker is open (or its one half-open probe is in flight): the call failed fast, nothing was sent. */
  CIRCUIT_OPEN: 'ERR_CIRCUIT_OPEN',
  /** A rate limiter had no token for this call within its wait budget; nothing was sent. */
  RATE_LIMITED: 'ERR_RATE_LIMITED',
  /** A bounded table is full (e.g. topics: `maxTopics`, `maxSubscribers`); nothing was added. `field` names what. */
  LIMIT_REACHED: 'ERR_LIMIT_REACHED',
  /** A bulkhead's slots and wait queue were full; nothing was sent. */
  BULKHEAD_FULL: 'ERR_BULKHEAD_FULL',
  /** A retry policy gave up (attempts, deadline or a stop-on predicate); `cause` is the last error. */
  RETRIES_EXHAUSTED: 'ERR_RETRIES_EXHAUSTED',
  /** The caller's AbortSignal fired: the wait or the call was abandoned. */
  ABORTED: 'ERR_ABORTED',
  /** A call wrapped with a timeout did not settle in time (counts as a breaker failure). */
  TIMEOUT: 'ERR_TIMEOUT',
  /** A workflow's tasks depend on each other in a cycle; `field` names a task on it. */
  WORKFLOW_CYCLE: 'ERR_WORKFLOW_CYCLE',
  /** A workflow task depends on a task id the workflow does not have; `field` names it. */
  UNKNOWN_DEPENDENCY: 'ERR_UNKNOWN_DEPENDENCY',
  /** A workflow task did not run because a task it depends on failed or was cancelled. */
  DEPENDENCY_FAILED: 'ERR_DEPENDENCY_FAILED',
  /** A router has no routee it may use (none, or all skipped as unhealthy). */
  NO_ROUTEE: 'ERR_NO_ROUTEE',
  /**
   * The store (LMDB directory, Redis server) cannot be reached or opened now: at start the
   * node does not start; while running the write or submission was not accepted (nothing
   * was half-written) and may be tried again once the store is back.
   */
  STORE_UNAVAILABLE: 'ERR_STORE_UNAVAILABLE',
  /**
   * The store's data is corrupt, truncated or of a format this version cannot read: the node
   * refuses to start on it (it never starts empty in its place). `field` names the file.
   */
  STORE_CORRUPT: 'ERR_STORE_CORRUPT',
  /**
   * A newer writer holds this persistence id (another incarnation of the actor, on this node or
   * another): the stale writer's append or save is refused and nothing was written.
   */
  PERSISTENCE_FENCED: 'ERR_PERSISTENCE_FENCED',
  /** A persistent actor's write failed (or its replay could not be read); `cause` says why. The actor stops. */
  PERSIST_FAILED: 'ERR_PERSIST_FAILED',
  /** No task with that id (or it was purged). */
  TASK_NOT_FOUND: 'ERR_TASK_NOT_FOUND',
  /** A task's lease ran out (or it was taken over) before its worker finished: the result was not recorded. */
  LEASE_LOST: 'ERR_LEASE_LOST',
  /** No durable workflow run with that id. */
  WORKFLOW_NOT_FOUND: 'ERR_WORKFLOW_NOT_FOUND',
  /** No workflow definition of that name is registered (start, or resuming a run of it): `field` names it. */
  WORKFLOW_UNDEFINED: 'ERR_WORKFLOW_UNDEFINED',
  /** The durable workflow run already finished: a signal or cancel for it changes nothing. */
  WORKFLOW_FINISHED: 'ERR_WORKFLOW_FINISHED',
  /**
   * A resumed run's journal does not match the steps its definition builds now (a step it
   * recorded is gone or of another kind): the run is left as it is, not resumed.
   */
  WORKFLOW_NONDETERMINISTIC: 'ERR_WORKFLOW_NONDETERMINISTIC',
  /**
   * The durable-workflow engine was stopped: it no longer drives its runs (they stay
   * unfinished in the store; `resume()` on a new engine continues them) and takes no calls.
   */
  WORKFLOWS_STOPPED: 'ERR_WORKFLOWS_STOPPED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** The base class of every error apiary raises. `code` is stable; `field` names bad input. */
export class ApiaryError extends Error {
  override readonly name = 'ApiaryError';
  readonly code: ErrorCode;
  readonly field?: string;

  constructor(code: ErrorCode, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.field !== undefined) this.field = options.field;
  }
}

/** Plain-data form of an error, safe to send between threads and nodes. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
  /** The error's `cause`, the same way (at most {@link MAX_CAUSE_DEPTH} deep). */
  cause?: SerializedError;
}

/** How many `cause`s deep an error is kept as data (a chain may even be a cycle). */
export const MAX_CAUSE_DEPTH = 4;

/**
 * Turns anything thrown into plain data, keeping name, message, code, stack and `cause` (an
 * `ERR_ACTOR_FAILED` from another thread or node thus still carries what `receive` threw).
 * The stack is read when first read here, not now: formatting a stack costs microseconds
 * (more than the rest of a restart), and most exit reasons are never printed. Until then the
 * error itself is kept; `stack` is an enumerable property, so JSON and msgpack carry it.
 */
export function serializeError(err: unknown): SerializedError {
  return serializeAt(err, 0);
}

function serializeAt(err: unknown, depth: number): SerializedError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const out = withLazyStack(err.name, err.message, typeof code === 'string' ? code : undefined, err);
    const cause = (err as { cause?: unknown }).cause;
    if (cause !== undefined && depth < MAX_CAUSE_DEPTH) out.cause = serializeAt(cause, depth + 1);
    return out;
  }
  return { name: 'NonError', message: typeof err === 'string' ? err : safeString(err) };
}

function safeString(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * The plain-data error whose `stack` is `err.stack`, read on first access and kept. An object
 * literal with an accessor (not `defineProperty`, which turns the object into a slow
 * dictionary): `stack` is an own enumerable property, so JSON and msgpack carry it.
 */
function withLazyStack(name: string, message: string, code: string | undefined, err: Error): SerializedError {
  let stack: string | undefined;
  let read = false;
  const out = {
    name,
    message,
    get stack(): string | undefined {
      if (!read) {
        read = true;
        stack = err.stack || undefined;
      }
      return stack;
    },
    set stack(value: string | undefined) {
      read = true;
      stack = value;
    },
  } as SerializedError;
  if (code !== undefined) out.code = code;
  return out;
}
