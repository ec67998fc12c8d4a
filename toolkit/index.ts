/** The agent-orchestration toolkit: retries, breakers, limits, routers, priority, degradation, workflows. */
export { DEFAULTS as TOOLKIT_DEFAULTS } from './defaults.js';
export { sleep, withTimeout, abortedError } from './abort.js';
export {
  retryPolicy,
  fixedRetry,
  linearRetry,
  exponentialRetry,
  baseDelay,
  jitteredDelay,
  nextRetry,
  retryAfterOf,
  byCode,
  byClass,
} from './retry-policy.js';
export type { RetryPolicy, RetryOptions, RetryDecision, DelayShape, Jitter, ErrorPredicate, StopReason } from './retry-policy.js';
export { withRetry } from './with-retry.js';
export type { WithRetryOptions } from './with-retry.js';
export { CircuitBreaker, breakerPolicy, initialBreakerState, breakerAt, admit, record } from './circuit-breaker.js';
export type { BreakerOptions, BreakerPolicy, BreakerState, BreakerStateName } from './circuit-breaker.js';
export { RateLimiter, takeToken, fullBucket } from './rate-limiter.js';
export type { RateLimiterOptions, RateLimitSource, BucketPolicy, Bucket } from './rate-limiter.js';
export { Bulkhead } from './bulkhead.js';
export type { BulkheadOptions } from './bulkhead.js';
export { withFallback } from './fallback.js';
export type { Fallback } from './fallback.js';
export { Guard, guarded, guardRef } from './guard.js';
export type { GuardArgs, GuardControl, GuardParts } from './guard.js';
export { roundRobin, randomIndex, leastLoaded, lowestLatency, ewma, smoothWeighted, hashRing, ringOwner, hash32 } from './router-strategies.js';
export type { RouteeView, RoutingStrategy, HashRing } from './router-strategies.js';
export { Router, RouterActor, isRouterControl } from './router.js';
export type { RouterOptions, RouterControl, RouteeHealth } from './router.js';
export { poolRouter, PoolRouterActor, resizeDecision } from './pool-router.js';
export type { PoolRouterOptions } from './pool-router.js';
export { PriorityQueueActor, pickClass, mailboxPriority, minimumShare, TASK_CLASSES } from './priority.js';
export type { TaskClass, PriorityQueueArgs } from './priority.js';
export { DegradationController, degradationStep, demandedLevel, ruleFromSettings, HEALTH_RULES, DEGRADATION_LEVELS } from './degradation.js';
export type { DegradationLevel, DegradationOptions, DegradationRule, DegradationSignals, DegradationState } from './degradation.js';
export { topologicalOrder, dependentsOf } from './workflow-graph.js';
export type { GraphNode } from './workflow-graph.js';
export { runWorkflow } from './workflow.js';
export type { Askable, TaskSpec, TaskState, TaskInputs, TaskOutcome, WorkflowSpec, WorkflowResult, WorkflowHandle, RunOptions } from './workflow.js';
