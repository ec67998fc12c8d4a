/**
 * `apiary-runtime/internals`: the pieces behind the public API, for advanced users and
 * tools — the pure policy functions (restart intensity, backoff, breaker, token bucket,
 * routing, degradation, retry delays), the failure detector, the alert engine, the
 * plain-data check of the codec.
 *
 * **No compatibility promise.** Anything here may change or go in any release, patch
 * releases included; the CHANGELOG does not list such changes. Build on the package root
 * (`apiary-runtime`) where you can. Nothing here is needed to run a node.
 *
 * Owns: which internals are reachable from outside the package. Does not own what they do
 * (each module's header says that). Threads and time: as each module says; the policy
 * functions are pure (time and randomness are passed in).
 */

// actors
export { formatAddress, sameAddress } from './actors/address.js';
export { errorReason } from './actors/exit-reason.js';
export { serializeError } from './actors/foundation/errors.js';

// supervisor: OTP's policy as pure functions, and the supervisor actor
export { recordRestart } from './supervisor/restart-intensity.js';
export { backoffDelay, attemptAfterRun } from './supervisor/backoff.js';
export type { BackoffPolicy } from './supervisor/backoff.js';
export { restartGroup } from './supervisor/strategy.js';
export { Supervisor } from './supervisor/supervisor.js';

// transport
export { assertPlainData } from './transport/codec.js';

// runtime
export { PhiAccrual, phi } from './runtime/cluster/phi-accrual.js';
export { AlertEngine } from './runtime/observability/alerts.js';

// toolkit: the pure steps behind the toolkit's objects and actors
export { sleep, withTimeout, abortedError } from './toolkit/abort.js';
export { baseDelay, jitteredDelay, retryAfterOf } from './toolkit/retry-policy.js';
export { breakerPolicy, initialBreakerState, breakerAt, admit, record } from './toolkit/circuit-breaker.js';
export { takeToken, fullBucket } from './toolkit/rate-limiter.js';
export type { BucketPolicy, Bucket } from './toolkit/rate-limiter.js';
export { roundRobin, randomIndex, leastLoaded, lowestLatency, ewma, smoothWeighted, hashRing, ringOwner, hash32 } from './toolkit/router-strategies.js';
export type { RouteeView, HashRing } from './toolkit/router-strategies.js';
export { isRouterControl } from './toolkit/router.js';
export { PoolRouterActor, resizeDecision } from './toolkit/pool-router.js';
export { pickClass, mailboxPriority, minimumShare } from './toolkit/priority.js';
export { degradationStep, demandedLevel } from './toolkit/degradation.js';
export { topologicalOrder, dependentsOf } from './toolkit/workflow-graph.js';
