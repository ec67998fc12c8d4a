/**
 * The demo swarm — what `apiary start` runs with no config.
 *
 * Two pipelines under a three-level supervisor tree, spread over the worker threads:
 *
 *   /demo                      one-for-one
 *   ├─ reports                 rest-for-one: a crash restarts the steps after it
 *   │  ├─ ingest      (auto)   synthetic sales rows
 *   │  ├─ analysis    (auto)   per-region statistics
 *   │  ├─ synthesis   (auto)   JSON report
 *   │  └─ coordinator (main)   drives the pipeline every few seconds
 *   └─ monitoring              one-for-one
 *      ├─ detector    (auto)   z-score of each sensor reading
 *      ├─ alerter     (main)   severity + 60 s de-duplication
 *      └─ source      (main)   the generated event stream
 *
 * Worker agents fail at `faultRate` per message, so restarts show up in `apiary tree`.
 */
import type { SupervisorRef } from '../supervisor/supervisor-ref.js';
import { supervisor, type SupervisorSpec } from '../supervisor/child-spec.js';
import type { ActorSystem } from '../runtime/actor-system.js';
import type { Subscription } from 'rxjs';
import { describeReason } from '../actors/exit-reason.js';
import { Alerter, Analysis, Coordinator, Detector, Ingest, Source, Synthesis } from './demo-agents.js';

export interface DemoOptions {
  /** Probability that one message makes a worker agent throw. Default 0.02. */
  faultRate?: number;
  /** ms between reports. Default 3000. */
  reportEveryMs?: number;
  /** ms between sensor readings. Default 200. */
  eventEveryMs?: number;
  /** Alert de-duplication window, ms. Default 60 000. */
  dedupMs?: number;
  /** Where progress lines go. Default console.log. */
  log?: (line: string) => void;
  /** Place worker agents on worker threads (`auto`) or keep everything on the main thread. Default true. */
  useThreads?: boolean;
}

export const DEMO_DEFAULTS = {
  faultRate: 0.02,
  reportEveryMs: 3000,
  eventEveryMs: 200,
  dedupMs: 60_000,
} as const;

/** The demo's root supervisor spec. */
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
            { id: 'ingest', name: 'ingest', actor: Ingest, args: agent, thread },
            { id: 'analysis', name: 'analysis', actor: Analysis, args: agent, thread },
            { id: 'synthesis', name: 'synthesis', actor: Synthesis, args: agent, thread },
            {
              id: 'coordinator',
              actor: Coordinator,
              args: { everyMs: options.reportEveryMs ?? DEMO_DEFAULTS.reportEveryMs, batchSize: 500, log },
            },
          ],
        }),
      },
      {
        id: 'monitoring',
        actor: supervisor({
          strategy: 'one-for-one',
          intensity: 20,
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

/** Starts the demo swarm on `system`; logs restarts as they happen. */
export async function startDemo(system: ActorSystem, options: DemoOptions = {}): Promise<{ root: SupervisorRef; stop(): void }> {
  const log = options.log ?? ((line: string) => console.log(line));
  const sub: Subscription = system.events$.subscribe((e) => {
    if (e.type === 'supervisor-decision' && e.directive === 'restart') log(`[supervisor] ${e.child} exited (${describeReason(e.reason)}): restarting`);
    if (e.type === 'escalated') log(`[supervisor] ${e.path} gave up (${describeReason(e.reason)}): escalating`);
    if (e.type === 'thread-down') log(`[threads] thread ${e.thread} died: ${e.reason}`);
  });
  const root = await system.spawn(demoSpec({ ...options, log }), { name: 'demo' });
  return { root, stop: () => sub.unsubscribe() };
}
