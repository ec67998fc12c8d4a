/**
 * The one schema of a node's options (zod; this is the only file that loads it): the
 * fields of a config file, flags and environment ({@link checkConfig}) and the options of
 * `new ActorSystem(...)` ({@link checkSystemOptions}) share every field check.
 *
 * Owns: what each field must be, worded as the `expected` of a ConfigIssue ("an integer
 * >= 0"), and the checks between fields (TLS cert with key, degraded lag below critical; for
 * `new ActorSystem`, the listen policy of transport/link-policy.ts).
 * Does not own: where values come from or which wins (resolve.ts), reading files named by
 * fields (resolve.ts), or defaults (defaults.ts).
 * Time and threads: pure functions.
 */
import { createRequire } from 'node:module';
import type * as Zod from 'zod';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import { checkListenPolicy, checkSeedsPolicy } from '../../transport/link-policy.js';
import { parseDnsSeed } from '../cluster/dns-seeds.js';
import type { ActorSystemOptions } from '../node/system-options.js';
import type { MetricsSnapshot } from '../observability/node-stats.js';
import type { LogFormat, LogLevel } from '../logging/logger.js';
import type { NodeConfig } from './node-config.js';
import { isLoopbackHost, normaliseOrigin } from '../admin/admin-access.js';

/** The numeric fields of a metrics snapshot an alert rule can watch. */
export const ALERT_METRICS = [
  'messagesProcessed',
  'mailboxDepth',
  'actorsRunning',
  'actorsRestarting',
  'actorsStopped',
  'restarts',
  'escalations',
  'deadLetters',
  'threadRestarts',
  'healthLevel',
  'threads',
] as const satisfies readonly (keyof MetricsSnapshot)[];

// the logger's names, spelled out here: importing logger.ts would load pino into every ActorSystem
const LOG_LEVEL_NAMES = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const satisfies readonly LogLevel[];
const LOG_FORMAT_NAMES = ['pretty', 'json', 'auto'] as const satisfies readonly LogFormat[];
type Missing = Exclude<LogLevel, (typeof LOG_LEVEL_NAMES)[number]> | Exclude<LogFormat, (typeof LOG_FORMAT_NAMES)[number]>;
const _everyName: [Missing] extends [never] ? true : Missing = true;
void _everyName;

/** One bad value found by the schema: where (path from the checked object), what was expected, what came. */
export interface SchemaIssue {
  path: (string | number)[];
  expected: string;
  received: unknown;
}

/**
 * Builds the schemas with `z`. zod is loaded on the first check, not when this module is
 * imported: every worker thread imports the package (and so the ActorSystem) but never
 * constructs a system, and zod costs ~50 ms to load.
 */
function build(z: typeof Zod) {
  // ---- field checks, each worded as what it expects ----

  const int = (min: number, max?: number): Zod.ZodNumber => {
    const error = max === undefined ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    const n = z.number({ error }).int({ error }).min(min, { error });
    return max === undefined ? n : n.max(max, { error });
  };
  const positive = (): Zod.ZodNumber => z.number({ error: 'a number > 0' }).positive({ error: 'a number > 0' });
  const atLeast = (min: number): Zod.ZodNumber => z.number({ error: `a number >= ${min}` }).min(min, { error: `a number >= ${min}` });
  const fraction = (): Zod.ZodNumber => {
    const error = 'a number from 0 to 1';
    return z.number({ error }).min(0, { error }).max(1, { error });
  };
  const text = (error = 'a non-empty string'): Zod.ZodString => z.string({ error }).min(1, { error });
  const bool = () => z.boolean({ error: 'true or false' });
  const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
    z.enum(values as unknown as { [K in T[number]]: K }, { error: `one of ${values.join(', ')}` });

  const HOST_PORT = /^(?:(\[[0-9a-fA-F:.]+\]|[^\s:/]*):)?(\d{1,5})$/;
  const hostPort = () =>
    z
      .string({ error: 'HOST:PORT' })
      .regex(HOST_PORT, { error: 'HOST:PORT' })
      .refine((s) => Number(HOST_PORT.exec(s)?.[2]) <= 65535, { error: 'HOST:PORT with a port from 0 to 65535' });

  const SEED = /^wss?:\/\/(\[[0-9a-fA-F:.]+\]|[^\s:/@]+):(\d{1,5})\/?$/;
  const seed = () =>
    z
      .string({ error: 'a ws://HOST:PORT URL (or wss://)' })
      .refine((s) => SEED.test(s) || s.startsWith('dns:'), { error: 'a ws://HOST:PORT URL (or wss:// for a node with TLS), or dns:NAME:PORT' })
      .refine((s) => (s.startsWith('dns:') ? parseDnsSeed(s) !== undefined : Number(SEED.exec(s)?.[2]) <= 65535), {
        error: 'a ws(s)://HOST:PORT URL, or dns:NAME:PORT, with a port from 1 to 65535',
      });
  const pem = () =>
    z.union([z.string({ error: 'PEM text' }).min(1, { error: 'PEM text' }), z.instanceof(Uint8Array, { error: 'PEM bytes' })], { error: 'PEM text (a string or a Uint8Array)' });

  const ADMIN_HOST = /^(\.?[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|\[[0-9a-fA-F:.]+\])$/;

  const STORE = /^(lmdb|lmdb:.+|redis:\/\/[^\s:/]+:\d{1,5}\/?)$/;
  const store = () => z.string({ error: 'lmdb, lmdb:DIR or redis://HOST:PORT' }).regex(STORE, { error: 'lmdb, lmdb:DIR or redis://HOST:PORT' });

  const httpUrl = () =>
    z.string({ error: 'an http:// or https:// URL' }).refine((s) => /^https?:\/\/[^\s/]+/.test(s) && URL.canParse(s), { error: 'an http:// or https:// URL' });

  const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
  const nodeName = () => z.string({ error: 'a node name' }).regex(NODE_NAME, { error: 'a node name (letters, digits, . _ -; up to 64)' });

  const list = <T extends Zod.ZodType>(item: T, error = 'a list') => z.array(item, { error });
  const record = <T extends Zod.ZodType>(value: T) => z.record(text('a non-empty name'), value, { error: 'an object of named entries' });

  const healthChecks = {
    degradedLagMs: positive().optional(),
    criticalLagMs: positive().optional(),
    recoverAfter: int(1).optional(),
    checkMs: positive().optional(),
    threshold: positive().optional(),
    minStdDevMs: positive().optional(),
    acceptablePauseMs: atLeast(0).optional(),
    windowSize: int(1).optional(),
  };
  const health = () => z.strictObject(healthChecks, { error: 'an object' });

  const clusterTuning = {
    heartbeatMs: positive().optional(),
    failureDetector: z
      .strictObject({ threshold: positive().optional(), minStdDevMs: positive().optional(), acceptablePauseMs: atLeast(0).optional(), windowSize: int(1).optional() }, { error: 'an object' })
      .optional(),
    downAfterMs: atLeast(0).optional(),
    downing: oneOf(['keep-majority', 'static-quorum', 'keep-oldest', 'off'] as const).optional(),
    downRemovalMarginMs: atLeast(0).optional(),
    quorumSize: int(0).optional(),
    removeAfterMs: atLeast(0).optional(),
    gossipMs: positive().optional(),
    rejoin: z
      .strictObject({ minMs: positive().optional(), maxMs: positive().optional(), forgetAfterMs: atLeast(0).optional() }, { error: 'an object' })
      .optional(),
    maxMembers: int(1).optional(),
    dialsPerSecond: positive().optional(),
    maxTombstones: int(1).optional(),
    tombstoneMs: positive().optional(),
    reconnect: z
      .strictObject({ minMs: positive().optional(), maxMs: positive().optional(), randomFactor: fraction().optional() }, { error: 'an object' })
      .optional(),
    maxPayload: int(1).optional(),
    highWaterBytes: int(1).optional(),
    maxQueuedBytes: int(1).optional(),
    handshakeTimeoutMs: positive().optional(),
    maxUnauthenticated: int(1).optional(),
    dnsRefreshMs: positive().optional(),
  };

  const lowLatency = () =>
    z.union(
      [bool(), z.strictObject({ spinMicros: atLeast(0).optional(), ringBytes: int(1).optional(), burstMs: positive().optional() }, { error: 'an object' })],
      { error: 'true, false or { spinMicros, ringBytes, burstMs }' },
    );

  const resourceLimits = () =>
    z.strictObject(
      {
        maxOldGenerationSizeMb: positive().optional(),
        maxYoungGenerationSizeMb: positive().optional(),
        codeRangeSizeMb: positive().optional(),
        stackSizeMb: positive().optional(),
      },
      { error: 'an object' },
    );

  const alertRule = () =>
    z.strictObject(
      {
        name: text(),
        metric: oneOf(ALERT_METRICS),
        rate: bool().optional(),
        op: oneOf(['>', '>=', '<', '<='] as const),
        threshold: z.number({ error: 'a number' }),
        forMs: atLeast(0).optional(),
        severity: oneOf(['critical', 'warning', 'info'] as const),
        cooldownMs: atLeast(0).optional(),
        summary: z.string({ error: 'a string' }).optional(),
      },
      { error: 'an alert rule { name, metric, op, threshold, severity }' },
    );

  const uniqueNames = <T extends { name: string }>(rules: T[], ctx: Zod.RefinementCtx): void => {
    const seen = new Set<string>();
    rules.forEach((r, i) => {
      if (seen.has(r.name)) ctx.addIssue({ code: 'custom', message: 'a name no other rule has', path: [i, 'name'], input: r.name });
      seen.add(r.name);
    });
  };
  const alertRules = () => list(alertRule()).superRefine(uniqueNames);

  const isChannelObject = (v: unknown): boolean =>
    v !== null && typeof v === 'object' && typeof (v as { send?: unknown }).send === 'function';
  const CHANNEL = 'an alert channel: { type: "console" }, { type: "webhook", url }, or (in a config module) an object with send()';
  const channelSpec = () =>
    z.discriminatedUnion(
      'type',
      [
        z.strictObject({ type: z.literal('console') }, { error: CHANNEL }),
        z.strictObject(
          { type: z.literal('webhook'), url: httpUrl(), timeoutMs: positive().optional(), retries: int(0).optional(), backoffMs: atLeast(0).optional() },
          { error: CHANNEL },
        ),
      ],
      { error: CHANNEL },
    );
  const channel = () => z.union([z.custom<object>(isChannelObject, { error: CHANNEL }), channelSpec()], { error: CHANNEL });

  const rateLimit = () =>
    z.strictObject(
      { tokens: atLeast(1).optional(), intervalMs: positive().optional(), burst: atLeast(1).optional(), maxWaitMs: atLeast(0).optional() },
      { error: 'a rate limit { tokens, intervalMs, burst, maxWaitMs }' },
    );

  const degradation = () =>
    z.strictObject(
      {
        recoverAfterMs: atLeast(0).optional(),
        rules: list(
          z.strictObject(
            {
              level: oneOf(['FULL', 'REDUCED', 'MINIMAL', 'EMERGENCY'] as const),
              signal: text(),
              op: oneOf(['>', '>=', '<', '<=', '==', '!='] as const),
              value: z.union([z.number(), z.string()], { error: 'a number or a string' }),
            },
            { error: 'a rule { level, signal, op, value }' },
          ),
        ).optional(),
      },
      { error: 'degradation settings { recoverAfterMs, rules }' },
    );

  /** The node options shared by config files and `new ActorSystem(...)`. */
  const sharedFields = {
    name: nodeName().optional(),
    threads: int(0).optional(),
    heartbeatMs: positive().optional(),
    metricsMs: positive().optional(),
    throughput: int(1).optional(),
    turnBudget: int(1).optional(),
    watchdogMs: positive().optional(),
    maxMessageBytes: int(1).optional(),
    spareThreads: int(0).optional(),
    lowLatency: lowLatency().optional(),
    askPollMicros: atLeast(0).optional(),
    resourceLimits: resourceLimits().optional(),
    rateLimits: record(rateLimit()).optional(),
    degradation: record(degradation()).optional(),
  };

  const nodeConfig = z.strictObject(
    {
      ...sharedFields,
      listen: hostPort().optional(),
      advertise: hostPort().optional(),
      http: hostPort().optional(),
      seeds: list(seed(), 'a list of ws:// or wss://HOST:PORT URLs (or dns:NAME:PORT)').optional(),
      secret: text().optional(),
      secretFile: text('a file path').optional(),
      adminToken: text().optional(),
      adminTokenFile: text('a file path').optional(),
      adminHosts: list(text('a host name').regex(ADMIN_HOST, { error: 'a host name (or .domain for its subdomains), no scheme or port' }), 'a list of host names').optional(),
      adminOrigins: list(
        z.string({ error: 'an origin' }).refine((s) => normaliseOrigin(s) !== undefined, { error: 'an origin http(s)://HOST[:PORT] (no path)' }),
        'a list of origins',
      ).optional(),
      roles: list(text('a role name').regex(/^[^,\s]+$/, { error: 'a role name without commas or spaces' }), 'a list of role names').optional(),
      region: text().optional(),
      store: store().optional(),
      tlsCert: text('a file path').optional(),
      tlsKey: text('a file path').optional(),
      tlsCa: text('a file path').optional(),
      insecure: bool().optional(),
      logLevel: oneOf(LOG_LEVEL_NAMES).optional(),
      logFormat: oneOf(LOG_FORMAT_NAMES).optional(),
      cluster: z.strictObject(clusterTuning, { error: 'an object of cluster settings' }).optional(),
      alerts: z.strictObject({ rules: alertRules().optional(), channels: list(channel()).optional() }, { error: 'an object { rules, channels }' }).optional(),
      demo: z
        .strictObject({ faultRate: fraction().optional(), apiErrorRate: fraction().optional(), apiThrottleRate: fraction().optional() }, { error: 'an object' })
        .optional(),
      app: text('a module path').optional(),
      watchConfig: bool().optional(),
      health: health().optional(),
    },
    { error: 'an object of config fields' },
  );

  /** The programmatic options: the shared fields plus those only code can give (a clock, channel objects, the cluster's listen address and secret bytes). */
  const systemOptions = z.looseObject(
    {
      ...sharedFields,
      incarnation: positive().optional(),
      health: health()
        .refine((h) => h.degradedLagMs === undefined || h.criticalLagMs === undefined || h.degradedLagMs < h.criticalLagMs, {
          error: 'less than health.criticalLagMs',
          path: ['degradedLagMs'],
        })
        .optional(),
      clock: z.custom<object>((v) => v !== null && typeof v === 'object', { error: 'a Clock' }).optional(),
      alerts: z
        .looseObject({ rules: alertRules().optional(), channels: list(z.custom<object>(isChannelObject, { error: 'an object with send()' })).optional() }, { error: 'an object { rules, channels }' })
        .optional(),
      cluster: z
        .looseObject(
          {
            ...clusterTuning,
            listen: z.strictObject({ host: z.string({ error: 'a host name or address' }), port: int(0, 65535) }, { error: '{ host, port }' }).optional(),
            advertise: hostPort().optional(),
            seeds: list(z.string({ error: 'a ws:// or wss://HOST:PORT URL' })).optional(),
            secret: z.instanceof(Uint8Array, { error: 'a Uint8Array' }),
            tls: z.strictObject({ cert: pem(), key: pem(), ca: pem().optional() }, { error: 'TLS material { cert, key, ca? }' }).optional(),
            insecure: bool().optional(),
          },
          { error: 'cluster options { listen, seeds, secret, tls, … }' },
        )
        .optional(),
    },
    { error: 'an options object' },
  );

  return { nodeConfig, systemOptions, shapes: { '': Object.keys(nodeConfig.shape), health: Object.keys(healthChecks), cluster: Object.keys(clusterTuning) } };
}

type Schemas = ReturnType<typeof build>;
const requireZod = createRequire(import.meta.url);
let built: Schemas | undefined; // a memo: built once, never changed
function schemas(): Schemas {
  return (built ??= build(requireZod('zod') as typeof Zod));
}

/**
 * Checks what one source (a config file, the flags, the environment) gives, field by field;
 * every issue found, none when it is fine. Checks between fields: {@link checkCombined}.
 */
export function checkConfig(raw: unknown): SchemaIssue[] {
  const r = schemas().nodeConfig.safeParse(raw);
  return r.success ? [] : toIssues(r.error, raw);
}

/**
 * The checks between fields, on the config in force (all sources and defaults merged, each
 * field already checked): TLS cert and key both or neither, a CA only with them, the
 * degraded lag below the critical one, the admin API beyond loopback only with a token.
 */
export function checkCombined(c: NodeConfig): SchemaIssue[] {
  const out: SchemaIssue[] = [];
  const httpHost = c.http === undefined ? undefined : /^(?:(.*):)?\d+$/.exec(c.http)?.[1];
  if (httpHost !== undefined && httpHost !== '' && !isLoopbackHost(httpHost) && c.adminToken === undefined) {
    out.push({ path: ['http'], expected: 'a loopback address unless an admin token is set (--admin-token-file or APIARY_ADMIN_TOKEN)', received: c.http });
  }
  if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) {
    const missing = c.tlsCert === undefined ? 'tlsCert' : 'tlsKey';
    const other = missing === 'tlsCert' ? 'tlsKey' : 'tlsCert';
    out.push({ path: [missing], expected: `given with ${other} (both or neither)`, received: undefined });
  }
  if (c.tlsCa !== undefined && c.tlsCert === undefined) out.push({ path: ['tlsCa'], expected: 'used with tlsCert and tlsKey', received: c.tlsCa });
  const h = c.health;
  if (h?.degradedLagMs !== undefined && h.criticalLagMs !== undefined && h.degradedLagMs >= h.criticalLagMs) {
    out.push({ path: ['health', 'degradedLagMs'], expected: `less than health.criticalLagMs (${h.criticalLagMs})`, received: h.degradedLagMs });
  }
  const r = c.cluster?.reconnect;
  if (r?.minMs !== undefined && r.maxMs !== undefined && r.minMs > r.maxMs) {
    out.push({ path: ['cluster', 'reconnect', 'maxMs'], expected: `at least cluster.reconnect.minMs (${r.minMs})`, received: r.maxMs });
  }
  const j = c.cluster?.rejoin;
  if (j?.minMs !== undefined && j.maxMs !== undefined && j.minMs > j.maxMs) {
    out.push({ path: ['cluster', 'rejoin', 'maxMs'], expected: `at least cluster.rejoin.minMs (${j.minMs})`, received: j.maxMs });
  }
  return out;
}

/**
 * Checks the options of `new ActorSystem(...)`; throws `ERR_INVALID_ARGUMENT` whose `field`
 * names the first bad field (message: every one), `ERR_INSECURE_LISTEN` when the cluster
 * would listen unprotected (transport/link-policy.ts: no secret without `insecure`, or beyond
 * loopback; plaintext beyond loopback without `insecure`), and `ERR_INSECURE_DIAL` for a
 * `ws://` seed beyond loopback without `insecure`. Runs once per system, never per spawn.
 */
export function checkSystemOptions(options: ActorSystemOptions): void {
  const r = schemas().systemOptions.safeParse(options);
  const cluster = options.cluster;
  if (r.success) {
    if (cluster?.listen !== undefined) {
      checkListenPolicy({ host: cluster.listen.host, secret: cluster.secret, tls: cluster.tls !== undefined, insecure: cluster.insecure === true });
    }
    if (cluster?.seeds !== undefined) checkSeedsPolicy(cluster.seeds, cluster.insecure === true);
    return;
  }
  const issues = toIssues(r.error, options);
  const lines = issues.map((i) => `${i.path.join('.')} must be ${i.expected}, got ${describe(i.received)}`);
  throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `invalid ActorSystem options: ${lines.join('; ')}`, { field: issues[0]!.path.join('.') });
}

/** Type check at build time: what the config schema accepts is a NodeConfig. */
const _accepts: (c: Zod.output<Schemas['nodeConfig']>) => NodeConfig = (c) => c as NodeConfig;
void _accepts;

function toIssues(error: Zod.ZodError, raw: unknown): SchemaIssue[] {
  const out: SchemaIssue[] = [];
  const seen = new Set<string>();
  for (const issue of error.issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    // one issue per field: a value that fails a pattern also fails the checks after it
    const key = path.join('\u0000');
    if (issue.code !== 'unrecognized_keys' && seen.has(key)) continue;
    seen.add(key);
    if (issue.code === 'unrecognized_keys') {
      const parent = valueAt(raw, path);
      for (const key of issue.keys) {
        out.push({ path: [...path, key], expected: `not a known field${suggest(key, path)}`, received: valueAt(parent, [key]) });
      }
      continue;
    }
    out.push({ path, expected: issue.message, received: valueAt(raw, path) });
  }
  return out;
}

function valueAt(root: unknown, path: (string | number)[]): unknown {
  let v = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

/** ` (did you mean heartbeatMs?)` for a key that differs from a known one only in case, `-`/`_`. */
function suggest(key: string, path: (string | number)[]): string {
  const shape = shapeAt(path);
  if (shape === undefined) return '';
  const norm = (s: string): string => s.toLowerCase().replace(/[-_]/g, '');
  const hit = shape.find((k) => norm(k) === norm(key));
  return hit === undefined ? '' : ` (did you mean ${hit}?)`;
}

function shapeAt(path: (string | number)[]): string[] | undefined {
  const shapes: Record<string, string[]> = {
    ...schemas().shapes,
    alerts: ['rules', 'channels'],
    demo: ['faultRate', 'apiErrorRate', 'apiThrottleRate'],
  };
  return shapes[path.join('.')];
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'function') return 'a function';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
