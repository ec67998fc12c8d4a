/**
 * The admin API's task routes (a contract: README "Durable tasks"), served by admin-server.ts
 * under its access rules (Host, Origin, bearer token):
 *   GET    /tasks?queue=Q&state=S&limit=N   → 200 { tasks: [Task], counts: {state: n} }
 *   GET    /tasks/{id}                      → 200 Task | 404 ERR_TASK_NOT_FOUND
 *   POST   /tasks  {queue, payload, priority?, idempotencyKey?, deadline?, delayMs?, maxAttempts?, retry?}
 *                                           → 201 Task (an idempotency key used before: 200, the first task)
 *   POST   /tasks/{id}/retry                → 200 Task (dead or failed → queued) | 400 | 404
 *   DELETE /tasks/{id}                      → 200 { purged: 1 } | 404
 *   POST   /tasks/purge?queue=Q&state=S     → 200 { purged: n } (default states: done, failed, dead)
 * Bad input → 400 with `ERR_BAD_REQUEST` (not JSON), `ERR_INVALID_ARGUMENT` and `field`, or
 * `ERR_UNSERIALIZABLE` (a payload nested deeper than the codec allows);
 * the store away → 503 `ERR_STORE_UNAVAILABLE`; a node without a task queue → 404 `ERR_NOT_FOUND`.
 *
 * Owns: turning these requests into TaskQueue calls and their outcomes into status + JSON.
 * Does not own access checks, sockets or sending (admin-server.ts) or the semantics (task-queue.ts).
 */
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import type { TaskQueue } from '../tasks/task-queue.js';
import { TASK_DEFAULTS, TASK_STATES, type SubmitOptions, type TaskState } from '../tasks/task.js';
import { failure as error, type RouteAnswer } from './route-answer.js';

/** Largest JSON body `POST /tasks` accepts. */
export const TASK_BODY_LIMIT = 1024 * 1024;

/** True for the paths these routes serve. */
export function isTaskPath(path: string): boolean {
  return path === '/tasks' || path.startsWith('/tasks/');
}

/** Answers a task request; `readBody` gives the request's body text (rejects past the limit). */
export async function taskRoute(tasks: TaskQueue | undefined, method: string, url: URL, readBody: () => Promise<string>): Promise<RouteAnswer> {
  if (tasks === undefined) return error(404, 'ERR_NOT_FOUND', 'this node has no task queue (it runs without a task store)');
  try {
    return await route(tasks, method, url, readBody);
  } catch (err) {
    if (err instanceof ApiaryError) {
      if (err.code === ErrorCodes.TASK_NOT_FOUND) return error(404, err.code, err.message);
      if (err.code === ErrorCodes.INVALID_ARGUMENT || err.code === ErrorCodes.UNSERIALIZABLE) return error(400, err.code, err.message, err.field);
      if (err.code === ErrorCodes.STORE_UNAVAILABLE) return error(503, err.code, err.message);
    }
    throw err;
  }
}

async function route(tasks: TaskQueue, method: string, url: URL, readBody: () => Promise<string>): Promise<RouteAnswer> {
  const path = url.pathname;
  if (path === '/tasks') {
    if (method === 'GET') {
      const queue = url.searchParams.get('queue') ?? undefined;
      const states = url.searchParams.getAll('state').flatMap((s) => s.split(','));
      const limitText = url.searchParams.get('limit');
      const limit = limitText === null ? TASK_DEFAULTS.listLimit : Number(limitText);
      const list = await tasks.list({ ...(queue === undefined ? {} : { queue }), ...(states.length === 0 ? {} : { state: states as TaskState[] }), limit });
      return { status: 200, body: { tasks: list, counts: await tasks.counts(queue) } };
    }
    if (method === 'POST') {
      let body: unknown;
      try {
        body = JSON.parse(await readBody());
      } catch {
        return error(400, 'ERR_BAD_REQUEST', 'the body must be a JSON object {queue, payload, …} of at most 1 MiB');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return error(400, 'ERR_BAD_REQUEST', 'the body must be a JSON object {queue, payload, …}');
      const b = body as Record<string, unknown>;
      const options: SubmitOptions = {};
      if (b.idempotencyKey !== undefined) options.idempotencyKey = b.idempotencyKey as string;
      if (b.priority !== undefined) options.priority = b.priority as SubmitOptions['priority'] & string;
      if (b.deadline !== undefined) options.deadline = b.deadline as number;
      if (b.delayMs !== undefined) options.delayMs = b.delayMs as number;
      if (b.retry !== undefined) options.retry = b.retry as SubmitOptions['retry'] & object;
      else if (b.maxAttempts !== undefined) options.retry = { ...TASK_DEFAULTS.retry, maxAttempts: b.maxAttempts as number };
      const { task, created } = await tasks.submitted({ queue: b.queue as string, payload: b.payload ?? null }, options);
      return { status: created ? 201 : 200, body: task };
    }
    return error(405, 'ERR_METHOD_NOT_ALLOWED', '/tasks takes GET or POST');
  }
  if (path === '/tasks/purge') {
    if (method !== 'POST') return error(405, 'ERR_METHOD_NOT_ALLOWED', '/tasks/purge takes POST');
    const queue = url.searchParams.get('queue') ?? undefined;
    const states = url.searchParams.getAll('state').flatMap((s) => s.split(','));
    for (const s of states) if (!TASK_STATES.includes(s as TaskState)) return error(400, ErrorCodes.INVALID_ARGUMENT, `state must be one of ${TASK_STATES.join(', ')}`, 'state');
    const purged = await tasks.purge({ ...(queue === undefined ? {} : { queue }), ...(states.length === 0 ? {} : { states: states as TaskState[] }) });
    return { status: 200, body: { purged } };
  }
  const m = /^\/tasks\/([^/]+)(\/retry)?$/.exec(path);
  if (m === null) return error(404, 'ERR_NOT_FOUND', `no route ${method} ${path}`);
  let id: string;
  try {
    id = decodeURIComponent(m[1]!);
  } catch {
    return error(400, 'ERR_BAD_REQUEST', 'malformed task id');
  }
  if (m[2] !== undefined) {
    if (method !== 'POST') return error(405, 'ERR_METHOD_NOT_ALLOWED', 'retry takes POST');
    return { status: 200, body: await tasks.retry(id) };
  }
  if (method === 'GET') return { status: 200, body: await tasks.get(id) };
  if (method === 'DELETE') return { status: 200, body: { purged: await tasks.purge({ id }) } };
  return error(405, 'ERR_METHOD_NOT_ALLOWED', `${path} takes GET or DELETE`);
}
