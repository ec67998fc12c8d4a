/**
 * The agent-orchestration toolkit, public surface: retries, breakers, limits, fallback,
 * guards, routers, priority, degradation, workflows. The pure step functions behind them
 * (breaker transitions, token buckets, routing strategies, degradation steps, graph order)
 * are internal: `apiary-runtime/internals` reaches them without a compatibility promise.
 */
export { DEFAULTS as TOOLKIT_DEFAULTS } from './defaults.js';
export { retryPolicy, fixedRetry, linearRetry, exponentialRetry, nextRetry, byCode, byClass } from './retry-policy.js';
export type { RetryPolicy, RetryOptions, RetryDecision, DelayShape, Jitter, ErrorPredicate, StopReason } from './retry-policy.js';
export { withRetry } from './with-retry.js';
export type { WithRetryOptions } from './with-retry.js';
export { CircuitBreaker } from './circuit-breaker.js';
export type { BreakerOptions, BreakerPolicy, BreakerState, BreakerStateName } from './circuit-breaker.js';
export { RateLimiter } from './rate-limiter.js';
export type { RateLimiterOptions, RateLimitSource } from './rate-limiter.js';
export { Bulkhead } from './bulkhead.js';
export type { BulkheadOptions } from './bulkhead.js';
export { withFallback } from './fallback.js';
export type { Fallback } from './fallback.js';
export { Guard, guarded, guardRef } from './guard.js';
export type { GuardArgs, GuardControl, GuardParts } from './guard.js';
export type { RoutingStrategy } from './router-strategies.js';
export { Router, RouterActor } from './router.js';
export type { RouterOptions, RouterControl, RouteeHealth } from './router.js';
export { poolRouter } from './pool-router.js';
export type { PoolRouterOptions } from './pool-router.js';
export { PriorityQueueActor, TASK_CLASSES } from './priority.js';
export type { TaskClass, PriorityQueueArgs } from './priority.js';
export { DegradationController, ruleFromSettings, HEALTH_RULES, DEGRADATION_LEVELS } from './degradation.js';
export type { DegradationLevel, DegradationOptions, DegradationRule, DegradationSignals, DegradationState } from './degradation.js';
export { runWorkflow } from './workflow.js';
export type { Askable, TaskSpec, TaskState, TaskInputs, TaskOutcome, WorkflowSpec, WorkflowResult, WorkflowHandle, RunOptions } from './workflow.js';
export { DurableWorkflows } from './durable-workflow.js';
export type {
  DurableWorkflowsOptions,
  DurableWorkflowSpec,
  DurableStep,
  SleepStep,
  SignalStep,
  WorkflowDefinition,
  WorkflowStartOptions,
  DurableRunHandle,
  WorkflowRunStatus,
  WorkflowRunSummary,
  WorkflowRunInfo,
  WorkflowStepInfo,
  WorkflowSignalInfo,
} from './durable-workflow.js';
