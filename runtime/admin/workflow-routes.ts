/**
 * The admin API's durable-workflow routes: `GET /workflows` (`?limit=N`), `GET
 * /workflows/{runId}`, `POST /workflows/{runId}/signals/{name}` (JSON body = the payload).
 *
 * Owns: what those routes answer, as a status and a JSON body. Does not own the HTTP server
 * (admin-server.ts: access checks, sending) or the runs (the engine registered with the
 * system: runtime/node/workflow-source.ts). Threads: thread 0.
 */
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import type { WorkflowSource } from '../node/workflow-source.js';
import { failure, jsonBody, type RouteAnswer } from './route-answer.js';

/** Matches the workflow routes: the run id and the signal name, if any; undefined for other paths. */
export function matchWorkflowRoute(path: string): { runId?: string; signal?: string } | undefined {
  const m = /^\/workflows(?:\/([^/]+)(?:\/signals\/([^/]+))?)?\/?$/.exec(path);
  if (m === null) return undefined;
  return { ...(m[1] === undefined ? {} : { runId: m[1] }), ...(m[2] === undefined ? {} : { signal: m[2] }) };
}

/** Largest limit `GET /workflows?limit=` takes. */
const MAX_LIMIT = 100_000;

/**
 * Answers a matched workflow route: 404 `ERR_NOT_FOUND` when the node has no engine, 404
 * `ERR_WORKFLOW_NOT_FOUND`, 409 `ERR_WORKFLOW_FINISHED` (a signal too late), 400 for a bad
 * id, limit or JSON body, 405 for a wrong method.
 */
export async function answerWorkflowRoute(
  source: WorkflowSource | undefined,
  route: { runId?: string; signal?: string },
  method: string,
  url: URL,
  body: () => Promise<string>,
): Promise<RouteAnswer> {
  const wantsPost = route.signal !== undefined;
  if (method !== (wantsPost ? 'POST' : 'GET')) return failure(405, 'ERR_METHOD_NOT_ALLOWED', wantsPost ? 'a signal takes POST' : `${url.pathname} takes GET`);
  if (source === undefined) return failure(404, 'ERR_NOT_FOUND', 'this node drives no durable workflows (no engine registered with the system)');
  let runId: string | undefined;
  let name: string | undefined;
  try {
    runId = route.runId === undefined ? undefined : decodeURIComponent(route.runId);
    name = route.signal === undefined ? undefined : decodeURIComponent(route.signal);
  } catch {
    return failure(400, 'ERR_BAD_REQUEST', 'malformed run id or signal name');
  }
  try {
    if (runId === undefined) {
      const raw = url.searchParams.get('limit');
      const limit = raw === null ? undefined : Number(raw);
      if (limit !== undefined && !(Number.isInteger(limit) && limit > 0 && limit <= MAX_LIMIT)) return failure(400, 'ERR_BAD_REQUEST', `limit must be an integer 1…${MAX_LIMIT}`);
      return { status: 200, body: { runs: jsonSafe(await source.list(limit === undefined ? {} : { limit })) } };
    }
    if (name === undefined) return { status: 200, body: jsonSafe(await source.get(runId)) };
    const payload = await jsonBody(body);
    if (payload === undefined) return failure(400, 'ERR_BAD_REQUEST', 'the body must be JSON (the signal payload)');
    await source.signal(runId, name, payload.value);
    return { status: 200, body: { signalled: { runId, name } } };
  } catch (err) {
    const code = err instanceof ApiaryError ? err.code : 'ERR_INTERNAL';
    const message = err instanceof Error ? err.message : String(err);
    if (code === ErrorCodes.WORKFLOW_NOT_FOUND) return failure(404, code, message);
    if (code === ErrorCodes.WORKFLOW_FINISHED) return failure(409, code, message);
    if (code === ErrorCodes.INVALID_ARGUMENT || code === ErrorCodes.UNSERIALIZABLE) return failure(400, code, message);
    return failure(500, code, message);
  }
}

/** A copy JSON can carry: bigints as strings (journaled values are plain data, not all JSON). */
function jsonSafe(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'null');
}
