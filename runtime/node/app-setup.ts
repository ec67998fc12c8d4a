/**
 * The app's hook into a node that `apiary start` made: a config module (or the module named by
 * `app:`) may export `setup(node)`, called once the node is ready and the app's tree is
 * running, with what a tree alone cannot reach — the system, the node's durable task queue,
 * its logger. There an app consumes task queues (`node.tasks.consume(…)`), starts a
 * `DurableWorkflows` engine over `node.system` (so `/workflows` and `apiary workflows` see its
 * runs), subscribes to `events$`.
 *
 * Owns: the shapes {@link AppNode} and {@link AppSetup}. Does not own calling it (runtime/cli/
 * start.ts: after the tree is spawned; a throw or rejection stops the node, exit 1 with one
 * line; the teardown it returns runs first when the node stops) or finding it (config/
 * load-file.ts). A config reload does not call it again.
 * Threads: thread 0. Time: none.
 */
import type { Logger } from '../logging/logger.js';
import type { TaskQueue } from '../tasks/task-queue.js';
import type { ActorSystem } from './actor-system.js';

/** What `setup` is given. */
export interface AppNode {
  /** The node's system (thread 0): spawn, lookup, `events$`, `store`. */
  readonly system: ActorSystem;
  /** The node's durable task queue — there when the node has a store (`--store`), else undefined. */
  readonly tasks: TaskQueue | undefined;
  /** The node's logger (`--log-level`, `--log-format`). */
  readonly log: Logger;
}

/**
 * An app's setup: may be async; may return a teardown, awaited when the node stops (before
 * the task queue closes and the tree stops), e.g. to stop consumers or a workflow engine.
 */
export type AppSetup = (node: AppNode) => void | (() => unknown) | Promise<void | (() => unknown)>;
