/**
 * The admin API's topic routes: `GET /topics` (every topic with subscribers, on this node and
 * on each other node as it last told), `GET /topics/{topic}` (its subscribers: node, thread,
 * path), `POST /topics/{topic}/publish` (JSON body = the message, published to every
 * subscriber as `system.topics.publish` does).
 *
 * Owns: what those routes answer, as a status and a JSON body. Does not own the HTTP server
 * (admin-server.ts: access checks — a publish is a state-changing request, under the token
 * rules of the admin API — sending, body limits) or the topics (runtime/cluster/topics.ts).
 * Threads: thread 0.
 */
import { ApiaryError } from '../../actors/foundation/errors.js';
import type { Topics } from '../cluster/topics.js';
import { failure, jsonBody, type RouteAnswer } from './route-answer.js';

/** Matches the topic routes: the topic (still URL-encoded) and whether it is a publish; undefined for other paths. */
export function matchTopicRoute(path: string): { topic?: string; publish: boolean } | undefined {
  const m = /^\/topics(?:\/([^/]+)(\/publish)?)?\/?$/.exec(path);
  if (m === null) return undefined;
  return { ...(m[1] === undefined ? {} : { topic: m[1] }), publish: m[2] !== undefined };
}

/** Answers a matched topic route: 405 for a wrong method, 400 for a bad topic name or JSON body. */
export async function answerTopicRoute(node: string, topics: Topics, route: { topic?: string; publish: boolean }, method: string, body: () => Promise<string>): Promise<RouteAnswer> {
  if (method !== (route.publish ? 'POST' : 'GET')) return failure(405, 'ERR_METHOD_NOT_ALLOWED', route.publish ? 'a publish takes POST' : 'topics take GET');
  if (route.topic === undefined) return { status: 200, body: { node, topics: topics.topics() } };
  let topic: string;
  try {
    topic = decodeURIComponent(route.topic);
  } catch {
    return failure(400, 'ERR_BAD_REQUEST', 'malformed topic name');
  }
  try {
    if (!route.publish) {
      const subscribers = topics.subscribers(topic).map((r) => ({ node: r.node, thread: r.thread, path: r.path }));
      return { status: 200, body: { topic, subscribers } };
    }
    const message = await jsonBody(body);
    if (message === undefined) return failure(400, 'ERR_BAD_REQUEST', 'the body must be JSON (the message)');
    return { status: 200, body: { topic, ...topics.publish(topic, message.value) } };
  } catch (err) {
    if (err instanceof ApiaryError) return failure(400, err.code, err.message);
    throw err;
  }
}
