/**
 * The HTTP admin server of a node (a contract: README, docs/architecture.md): GET / (the
 * inspector page, inspector-page.ts), GET /tree, /health (with `members` and the
 * recently refused node links, `refusals`), /health/live and /health/ready (probes), /metrics,
 * /members, POST /actors/{path}/kill and POST /actors/{path}/ask (JSON body = the message;
 * answers `{ reply }`, or 502 with the ask's error code — used by `apiary bench --http`), and
 * the durable-workflow routes of workflow-routes.ts (GET /workflows, …), the topic routes of
 * topic-routes.ts (GET /topics, POST /topics/{topic}/publish, …), GET /entities and GET
 * /singletons (what this node hosts and runs of them), and the durable tasks'
 * routes under /tasks (task-routes.ts) when given a task queue.
 *
 * Owns: routing, JSON errors with stable codes (404 unknown path or actor, 405 wrong method,
 * 400 malformed request, 421/403/401 refused by admin-access.ts — never a stack trace),
 * binding (127.0.0.1:9464 by default; beyond loopback only with a token) and the deadlines of
 * its sockets (ADMIN_DEFAULTS: headers, whole request, keep-alive, idle socket, connection cap).
 * Does not own: who may ask (admin-access.ts), what the tree, health or metrics say
 * (ActorSystem, metrics.ts).
 * Time: node:http's own timers (wall clock); nothing here reads the system's Clock.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ActorSystem } from '../node/actor-system.js';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import { NodeMetrics, type MetricsRegistry } from '../observability/metrics.js';
import { adminAccess, checkRequestSource, checkToken, isLoopbackHost, type AdminAccess, type Refusal } from './admin-access.js';
import { answerWorkflowRoute, matchWorkflowRoute } from './workflow-routes.js';
import { answerTopicRoute, matchTopicRoute } from './topic-routes.js';
import { inspectorPage } from './inspector-page.js';
import { isTaskPath, TASK_BODY_LIMIT, taskRoute } from './task-routes.js';
import type { TaskQueue } from '../tasks/task-queue.js';

/**
 * Where the admin server listens and how long its sockets may take. An idle socket (no
 * request yet) and a request whose headers drip in are closed `headersTimeoutMs` after
 * accept (checked every `checkIntervalMs`: within 5.25 s); a request whose body is not in
 * `requestTimeoutMs` after its start gets 408 and is closed; a kept-alive socket is closed
 * `keepAliveTimeoutMs` plus node:http's fixed 1 s after its last response (2 s; short, so
 * clients open a connection per request rather than hold one); a socket silent for
 * `socketTimeoutMs` (a client that never reads) is destroyed; past `maxConnections` open
 * sockets a new one is closed at once.
 */
export const ADMIN_DEFAULTS = {
  host: '127.0.0.1',
  port: 9464,
  headersTimeoutMs: 5000,
  requestTimeoutMs: 10_000,
  checkIntervalMs: 250,
  keepAliveTimeoutMs: 1000,
  socketTimeoutMs: 15_000,
  maxConnections: 64,
} as const;

export interface AdminServer {
  /** `host:port` actually bound (port 0 picks a free one). */
  readonly address: string;
  close(): Promise<void>;
}

/** Parses `HOST:PORT` (or `:PORT`, or `PORT`); throws `ERR_INVALID_ARGUMENT`. */
export function parseHostPort(value: string, field: string): { host: string; port: number } {
  const m = /^(?:(.*):)?(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `${field} must be HOST:PORT, got '${value}'`, { field });
  return { host: m[1] && m[1].length > 0 ? m[1] : ADMIN_DEFAULTS.host, port };
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json', headers: Record<string, string> = {}): void {
  const text = type === 'application/json' ? `${JSON.stringify(body)}\n` : String(body);
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
  res.end(text);
}

function fail(res: ServerResponse, status: number, code: string, message: string): void {
  send(res, status, { error: { code, message } });
}

function refuse(res: ServerResponse, r: Refusal): void {
  send(res, r.status, { error: { code: r.code, message: r.message } }, 'application/json', r.status === 401 ? { 'www-authenticate': 'Bearer realm="apiary-admin"' } : {});
}

export interface AdminServerOptions {
  /** Default 127.0.0.1. Beyond loopback (e.g. 0.0.0.0) only with a `token`. */
  host?: string;
  /** Default 9464; 0 picks a free one. */
  port?: number;
  /**
   * The app's prom-client Registry: apiary's metrics are registered in it and `GET /metrics`
   * serves the whole registry (the app's metrics too; no default metrics are added to it).
   * Default: a registry of apiary's own, with the default `process_*` / `nodejs_*` metrics.
   */
  registry?: MetricsRegistry;
  /**
   * The bearer token: when set, every route but the probes (`/health/live`, `/health/ready`)
   * needs `Authorization: Bearer <token>` (else 401 `ERR_UNAUTHORIZED`). Required when `host`
   * is not loopback.
   */
  token?: string;
  /** `Host` names accepted besides loopback names, addresses and `host` (`.example.com`: its subdomains too); others get 421. */
  hosts?: readonly string[];
  /** Origins (`https://ops.example.com`) whose pages may call the API besides its own; others get 403. */
  origins?: readonly string[];
  /** The node's durable task queue, served at `/tasks` (task-routes.ts); without it those routes answer 404. */
  tasks?: TaskQueue;
  /** Socket deadlines and the connection cap; each defaults to {@link ADMIN_DEFAULTS}. */
  limits?: Partial<Pick<typeof ADMIN_DEFAULTS, 'headersTimeoutMs' | 'requestTimeoutMs' | 'checkIntervalMs' | 'keepAliveTimeoutMs' | 'socketTimeoutMs' | 'maxConnections'>>;
}

/**
 * Starts the admin server for `system`; resolves once it listens. Rejects with
 * `ERR_INVALID_ARGUMENT` (field `token`) before listening when `host` is beyond loopback and
 * no token is given, and (field `origins`) for an origin that is not `http(s)://HOST[:PORT]`.
 */
export async function startAdminServer(system: ActorSystem, listen: AdminServerOptions = {}): Promise<AdminServer> {
  const host = listen.host ?? ADMIN_DEFAULTS.host;
  if (listen.token === undefined && !isLoopbackHost(host)) {
    throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `the admin server binds ${host}, beyond loopback: it needs a token (adminToken)`, { field: 'token' });
  }
  const access = adminAccess({ bindHost: host, hosts: listen.hosts, origins: listen.origins, token: listen.token });
  const limits = { ...ADMIN_DEFAULTS, ...listen.limits };
  const metrics = new NodeMetrics(system, listen.registry === undefined ? {} : { registry: listen.registry });
  const server: Server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: limits.checkIntervalMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
    },
    (req, res) => {
      handle(system, metrics, access, req, res, listen.tasks).catch((err: unknown) => {
        if (err instanceof BodyTooLarge && !res.headersSent) {
          // answered, then the connection goes: the rest of the body is never read
          res.once('finish', () => req.destroy());
          return send(res, 413, { error: { code: 'ERR_BODY_TOO_LARGE', message: err.message } }, 'application/json', { connection: 'close' });
        }
        if (!res.headersSent) fail(res, 500, 'ERR_INTERNAL', err instanceof Error ? err.message : 'internal error');
        else res.end();
      });
    },
  );
  server.maxConnections = limits.maxConnections;
  server.setTimeout(limits.socketTimeoutMs); // no 'timeout' listener: a silent socket is destroyed
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // a malformed request, or one past a deadline (node:http's headers/request timeout): one
    // status line if nothing was written on this socket yet, then the socket is closed for good
    const line = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    if (socket.writable && (socket as Socket).bytesWritten === 0) socket.end(`HTTP/1.1 ${line}\r\nconnection: close\r\n\r\n`, () => socket.destroy());
    else socket.destroy();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port ?? ADMIN_DEFAULTS.port, host, () => resolve());
    });
  } catch (err) {
    metrics.close();
    throw err;
  }
  const addr = server.address() as AddressInfo;
  return {
    address: `${addr.address}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        metrics.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The probes: they say nothing but a status word, so they need no Host, Origin or token check. */
const PROBES = new Set(['/health/live', '/health/ready']);

async function handle(system: ActorSystem, metrics: NodeMetrics, access: AdminAccess, req: IncomingMessage, res: ServerResponse, tasks?: TaskQueue): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://admin');
  } catch {
    return fail(res, 400, 'ERR_BAD_REQUEST', 'malformed URL');
  }
  const path = url.pathname;
  const method = req.method ?? 'GET';
  if (PROBES.has(path) && method === 'GET') {
    if (path === '/health/live') return send(res, 200, { status: 'live' });
    const status = system.health().status;
    return send(res, status === 'failed' ? 503 : 200, { status });
  }
  const refused = checkRequestSource(access, req.headers);
  if (refused !== undefined) return refuse(res, refused);
  // a CORS preflight: answered, nothing granted (no Access-Control-Allow-* header)
  if (method === 'OPTIONS') return void (res.writeHead(204, { allow: 'GET, POST, OPTIONS', 'cache-control': 'no-store' }), res.end());
  // the inspector page holds no data (its script reads the routes below, with the token): no token needed
  if (path === '/' || path === '/inspector') {
    if (method !== 'GET') return fail(res, 405, 'ERR_METHOD_NOT_ALLOWED', `${path} takes GET`);
    const page = inspectorPage(system.name);
    return send(res, 200, page.html, 'text/html; charset=utf-8', page.headers);
  }
  const unauthorized = checkToken(access, req.headers);
  if (unauthorized !== undefined) return refuse(res, unauthorized);
  if (path === '/tree' || path === '/health' || path === '/metrics' || path === '/members' || PROBES.has(path)) {
    if (method !== 'GET') return fail(res, 405, 'ERR_METHOD_NOT_ALLOWED', `${path} takes GET`);
    if (path === '/tree') return send(res, 200, system.tree());
    if (path === '/members') return send(res, 200, { node: system.name, members: members(system) });
    if (path === '/health') {
      const health = system.health();
      return send(res, health.status === 'failed' ? 503 : 200, { ...health, members: members(system), refusals: refusals(system) });
    }
    return send(res, 200, await metrics.render(), metrics.contentType);
  }
  // a body past its limit is answered 413 whatever the route made of the failed read
  let overflow: BodyTooLarge | undefined;
  const body = (limit: number) => () =>
    readBody(req, limit).catch((err: unknown) => {
      if (err instanceof BodyTooLarge) overflow = err;
      throw err;
    });
  if (isTaskPath(path)) {
    const answer = await taskRoute(tasks, method, url, body(TASK_BODY_LIMIT));
    if (overflow !== undefined) throw overflow;
    return send(res, answer.status, answer.body);
  }
  const kill = /^\/actors\/(.+)\/kill$/.exec(path);
  if (kill) {
    if (method !== 'POST') return fail(res, 405, 'ERR_METHOD_NOT_ALLOWED', 'kill takes POST');
    let actorPath: string;
    try {
      actorPath = `/${decodeURIComponent(kill[1]!).replace(/^\/+/, '')}`;
    } catch {
      return fail(res, 400, 'ERR_BAD_REQUEST', 'malformed actor path');
    }
    const reason = url.searchParams.get('reason');
    const killed = system.kill(actorPath, reason ? { error: { name: 'AdminKill', message: reason } } : 'killed');
    if (!killed) return fail(res, 404, 'ERR_NOT_FOUND', `no running actor at ${actorPath}`);
    return send(res, 200, { killed: actorPath });
  }
  const ask = /^\/actors\/(.+)\/ask$/.exec(path);
  if (ask) {
    if (method !== 'POST') return fail(res, 405, 'ERR_METHOD_NOT_ALLOWED', 'ask takes POST');
    let actorPath: string;
    let message: unknown;
    try {
      actorPath = `/${decodeURIComponent(ask[1]!).replace(/^\/+/, '')}`;
      message = JSON.parse((await readBody(req, ASK_BODY_LIMIT)) || 'null');
    } catch (err) {
      if (err instanceof BodyTooLarge) throw err;
      return fail(res, 400, 'ERR_BAD_REQUEST', 'malformed actor path or JSON body');
    }
    const ref = system.at(actorPath);
    if (ref === undefined) return fail(res, 404, 'ERR_NOT_FOUND', `no running actor at ${actorPath}`);
    try {
      return send(res, 200, { reply: (await ref.ask(message)) ?? null });
    } catch (err) {
      const code = err instanceof ApiaryError ? err.code : 'ERR_ACTOR_FAILED';
      return fail(res, 502, code, err instanceof Error ? err.message : 'ask failed');
    }
  }
  const workflowRoute = matchWorkflowRoute(path);
  if (workflowRoute !== undefined) {
    const answer = await answerWorkflowRoute(system.workflows, workflowRoute, method, url, body(ASK_BODY_LIMIT));
    if (overflow !== undefined) throw overflow;
    return send(res, answer.status, answer.body);
  }
  if (path === '/entities' || path === '/singletons') {
    if (method !== 'GET') return fail(res, 405, 'ERR_METHOD_NOT_ALLOWED', `${path} takes GET`);
    if (path === '/entities') return send(res, 200, { node: system.name, types: system.entities.status() });
    try {
      return send(res, 200, { node: system.name, singletons: await system.singletons.status() });
    } catch (err) {
      return fail(res, 503, ErrorCodes.STORE_UNAVAILABLE, (err as Error).message);
    }
  }
  const topicRoute = matchTopicRoute(path);
  if (topicRoute !== undefined) {
    const answer = await answerTopicRoute(system.name, system.topics, topicRoute, method, body(ASK_BODY_LIMIT));
    if (overflow !== undefined) throw overflow;
    return send(res, answer.status, answer.body);
  }
  return fail(res, 404, 'ERR_NOT_FOUND', `no route ${method} ${path}`);
}

/** A request body past its route's limit: answered 413 `ERR_BODY_TOO_LARGE`, and the connection closed. */
class BodyTooLarge extends Error {
  constructor(limit: number) {
    super(`the request body is larger than ${limit} bytes`);
  }
}

/** Largest JSON body `POST /actors/{path}/ask` accepts. */
const ASK_BODY_LIMIT = 1024 * 1024;

/** The request body as text; rejects past `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size <= limit) return void chunks.push(c);
      // nothing more is read or kept; the handler answers 413 and closes the connection
      req.off('data', onData);
      req.pause();
      chunks.length = 0;
      reject(new BodyTooLarge(limit));
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * Node links refused lately, on either side, the most recent first (empty outside a
 * cluster): one entry per kind and place, with how often, when first and last, and ms since.
 */
function refusals(system: ActorSystem): Record<string, unknown>[] {
  const now = system.clock.wallTime();
  return (system.cluster?.refusals.recent() ?? []).map(({ firstAt, lastAt, ...entry }) => ({
    ...entry,
    firstAt: new Date(firstAt).toISOString(),
    lastAt: new Date(lastAt).toISOString(),
    agoMs: Math.max(0, Math.round(now - lastAt)),
  }));
}

/** Cluster members as this node sees them; a lone node lists itself. */
function members(system: ActorSystem): { node: string; state: string; incarnation: number; url: string; self: boolean; sinceMs: number }[] {
  const now = system.clock.now();
  return system.members().map((m) => ({ node: m.node, state: m.state, incarnation: m.incarnation, url: m.url, self: m.self, sinceMs: Math.round(now - m.since) }));
}
