/**
 * The demo swarm — what `apiary start` runs with no config.
 *
 * Two pipelines under a three-level supervisor tree, spread over the worker threads:
 *
 *   /demo                      one-for-one
 *   ├─ reports                 rest-for-one: a crash restarts the steps after it
 *   │  ├─ coordinator (main)   drives the pipeline every few seconds, keeps report numbers
 *   │  ├─ ingest      (auto)   synthetic sales rows
 *   │  ├─ summariser  (main)   one-line summary from a simulated flaky, rate-limited API,
 *   │                          behind breaker + retry + rate limit (examples/demo-api.ts)
 *   │  ├─ ingest      (auto)   synthetic sales rows
 *   │  ├─ analysis    (auto)   per-region statistics   } a router spreads the
 *   │  ├─ analysis-2  (auto)   per-region statistics   } regions over both
 *   │  └─ synthesis   (auto)   JSON report
 *   └─ monitoring              one-for-one
 *      ├─ detector    (auto)   z-score of each sensor reading (stateless)
 *      ├─ alerter     (main)   severity + 60 s de-duplication
 *      └─ source      (main)   the generated event stream and each sensor's recent readings
 *
 * `auto` agents go to a worker thread when the system has some, else stay on the main
 * thread. They fail at `faultRate` per message (default 0.05: with ~5 messages a second a
 * newcomer sees a restart within seconds), so restarts show up in the log and in
 * `apiary tree`. Orchestrators find the agents by registered name, so they follow
 * restarts. Timers are actor timers on the system clock (`context.scheduleOnce`).
 * Does not own: the process (signals, the ready line) — runtime/cli/main.ts does.
 */
import type { SupervisorRef } from '../supervisor/supervisor-ref.js';
import { supervisor, type SupervisorSpec } from '../supervisor/child-spec.js';
import type { ActorSystem } from '../runtime/node/actor-system.js';
import { EMPTY, type Subscription } from 'rxjs';
import { describeReason } from '../actors/exit-reason.js';
import { Alerter, Analysis, Coordinator, Detector, Ingest, Source, Synthesis } from './demo-agents.js';
import { SUMMARY_API_LIMIT, Summariser } from './demo-api.js';
import type { RateLimitSource } from '../toolkit/rate-limiter.js';
import type { Logger } from '../runtime/logging/logger.js';

export interface DemoOptions {
  /** Probability that one message makes a worker agent throw. Default 0.05; 0 turns faults off. */
  faultRate?: number;
  /** ms between reports. Default 3000. */
  reportEveryMs?: number;
  /** ms between sensor readings. Default 200. */
  eventEveryMs?: number;
  /** Alert de-duplication window, ms. Default 60 000. */
  dedupMs?: number;
  /** Where progress lines go (`[reports] report #3: …`). Default console.log; {@link demoLog} sends them to a logger. */
  log?: (line: string) => void;
  /**
   * Also log what its supervisors do — restarts with their reason, giving up, a worker
   * thread dying, the API's circuit. Default true; false when the system logs those itself
   * (a system with a `logger`, as `apiary start` makes).
   */
  logSupervision?: boolean;
  /** Place worker agents on worker threads (`auto`) or keep everything on the main thread. Default true. */
  useThreads?: boolean;
  /** Probability that the simulated summary API answers 503. Default 0.2 (`APIARY_DEMO_API_ERROR_RATE`). */
  apiErrorRate?: number;
  /** Probability that it answers 429 with a Retry-After. Default 0.1 (`APIARY_DEMO_API_THROTTLE_RATE`). */
  apiThrottleRate?: number;
  /**
   * Live rate limits by name: the summariser's limit follows `rateLimits["summary-api"]`.
   * {@link startDemo} passes `system.settings` (the node's config, reloaded live).
   */
  settings?: RateLimitSource;
}

/** The demo's defaults: quick enough that a newcomer sees reports, alerts and restarts in ~10 s. */
export const DEMO_DEFAULTS = {
  faultRate: 0.05,
  reportEveryMs: 3000,
  eventEveryMs: 200,
  dedupMs: 60_000,
  apiErrorRate: 0.2,
  apiThrottleRate: 0.1,
  /** The simulated API's own limit, calls per second. */
  apiLimitPerSecond: 3,
} as const;

/**
 * The demo's root supervisor spec (spawn it under any name; {@link startDemo} uses `demo`).
 * Generous intensities (20–30 restarts a minute per pipeline) keep random faults from
 * making a pipeline supervisor give up; if one does, the root restarts that pipeline.
 */
export function demoSpec(options: DemoOptions = {}): SupervisorSpec {
  const log = options.log ?? ((line: string) => console.log(line));
  const faultRate = options.faultRate ?? DEMO_DEFAULTS.faultRate;
  const thread = options.useThreads === false ? undefined : ('auto' as const);
  const agent = { faultRate };
  return supervisor({
    strategy: 'one-for-one',
    intensity: 10,
    period: 60_000,
    children: [
      {
        id: 'reports',
        actor: supervisor({
          strategy: 'rest-for-one',
          intensity: 20,
          period: 60_000,
          children: [
            // first, so a crashing step does not take it (and its report numbering) down
            {
              id: 'coordinator',
              actor: Coordinator,
              args: { everyMs: options.reportEveryMs ?? DEMO_DEFAULTS.reportEveryMs, batchSize: 500, log },
            },
            // before the steps, so their crashes do not restart it (and reset its circuit breaker)
            {
              id: 'summariser',
              name: 'summariser',
              actor: Summariser,
              args: {
                errorRate: options.apiErrorRate ?? DEMO_DEFAULTS.apiErrorRate,
                throttleRate: options.apiThrottleRate ?? DEMO_DEFAULTS.apiThrottleRate,
                limitPerSecond: DEMO_DEFAULTS.apiLimitPerSecond,
                settings: options.settings,
              },
            },
            { id: 'ingest', name: 'ingest', actor: Ingest, args: agent, thread },
            { id: 'analysis', name: 'analysis', actor: Analysis, args: agent, thread },
            { id: 'analysis-2', name: 'analysis-2', actor: Analysis, args: agent, thread },
            { id: 'synthesis', name: 'synthesis', actor: Synthesis, args: agent, thread },
          ],
        }),
      },
      {
        id: 'monitoring',
        actor: supervisor({
          strategy: 'one-for-one',
          intensity: 30,
          period: 60_000,
          children: [
            { id: 'detector', name: 'detector', actor: Detector, args: agent, thread },
            { id: 'alerter', name: 'alerter', actor: Alerter, args: { dedupMs: options.dedupMs ?? DEMO_DEFAULTS.dedupMs, log } },
            { id: 'source', actor: Source, args: { everyMs: options.eventEveryMs ?? DEMO_DEFAULTS.eventEveryMs, sensors: 4, threshold: 3 } },
          ],
        }),
      },
    ],
  });
}

/** What {@link startDemo} returns. */
export interface DemoHandle {
  /** The root supervisor, registered as `demo` (its tree is `/demo/...`). */
  root: SupervisorRef;
  /** The spec the root was started from. */
  spec: SupervisorSpec;
  /**
   * Stops logging supervisor events. The swarm itself keeps running until `system.stop()`
   * (or `system.stopActor(root)`) stops it, children in reverse start order.
   */
  stop(): void;
}

/**
 * Starts the demo swarm on `system` as `/demo` and logs what its supervisors do (a child
 * restarted with the reason it exited, a supervisor giving up, a worker thread dying).
 * Rejects like `system.spawn` (e.g. `ERR_NAME_TAKEN` if `demo` is taken).
 */
export async function startDemo(system: ActorSystem, options: DemoOptions = {}): Promise<DemoHandle> {
  const log = options.log ?? ((line: string) => console.log(line));
  let failed = '';
  const events = options.logSupervision === false ? EMPTY : system.events$;
  const sub: Subscription = events.subscribe((e) => {
    if (e.type === 'supervisor-decision' && e.directive === 'restart') {
      failed = e.child;
      log(`[supervisor] ${e.child} exited (${describeReason(e.reason)}): restarting`);
    }
    // bystanders restarted by one-for-all / rest-for-one
    if (e.type === 'restarted' && e.path !== failed) log(`[supervisor] ${e.path} restarted along with ${failed}`);
    if (e.type === 'escalated') log(`[supervisor] ${e.path} gave up (${describeReason(e.reason)}): escalating`);
    if (e.type === 'thread-down') log(`[threads] thread ${e.thread} died: ${e.reason}`);
    if (e.type === 'breaker-state' && e.previous !== e.state) log(`[api] circuit ${e.name} ${e.previous} → ${e.state}`);
    if (e.type === 'config-reloaded' && e.applied.includes(`rateLimits.${SUMMARY_API_LIMIT}`)) {
      const s = system.settings.rateLimit(SUMMARY_API_LIMIT);
      log(`[api] rate limit ${SUMMARY_API_LIMIT} now ${s === undefined ? 'as in code' : JSON.stringify(s)}`);
    }
  });
  const spec = demoSpec({ ...options, settings: options.settings ?? system.settings, log });
  try {
    const root = await system.spawn(spec, { name: 'demo' });
    return { root, spec, stop: () => sub.unsubscribe() };
  } catch (err) {
    sub.unsubscribe();
    throw err;
  }
}

/**
 * The demo's progress lines as info lines of `logger`: `[reports] report #3: …` becomes
 * `report #3: …` with `component: 'reports'` (a line without a `[prefix]` gets `demo`).
 */
export function demoLog(logger: Logger): (line: string) => void {
  const children = new Map<string, Logger>();
  return (line) => {
    const m = /^\[([\w-]+)\] (.*)$/s.exec(line);
    const component = m?.[1] ?? 'demo';
    let child = children.get(component);
    if (child === undefined) children.set(component, (child = logger.child({ component })));
    child.info(m?.[2] ?? line);
  };
}
