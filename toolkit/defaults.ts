/**
 * Defaults of the agent-orchestration toolkit, in one place, each named after the library
 * whose default it follows (resilience4j for the breaker and bulkhead, AWS's backoff
 * guidance for retries, Akka for routers and pools).
 */
export const DEFAULTS = {
  retry: {
    /** Attempts in all, the first included (resilience4j `maxAttempts`). */
    maxAttempts: 3,
    /** Cap on one wait, ms. */
    maxDelay: 30_000,
    /** No total deadline unless one is given. */
    deadline: Infinity,
  },
  breaker: {
    /** Consecutive failures that open a closed breaker (Polly `exceptionsAllowedBeforeBreaking`-like). */
    failureThreshold: 5,
    /** ms the breaker stays open before one probe (resilience4j `waitDurationInOpenState` 60 s; shorter for agents). */
    resetTimeout: 30_000,
    /** Each failed probe multiplies the reset timeout by this (up to `maxResetTimeout`). */
    resetFactor: 2,
    maxResetTimeout: 300_000,
    /** Sliding window of the failure-rate trip, split into this many buckets. */
    windowBuckets: 10,
  },
  bulkhead: {
    /** resilience4j `maxConcurrentCalls`. */
    maxConcurrent: 25,
    /** Calls waiting for a slot beyond the running ones. */
    maxQueue: 0,
  },
  limiter: {
    /** Distinct keys kept by a per-key limiter; the least recently used full bucket goes first. */
    maxKeys: 10_000,
  },
  router: {
    /** Virtual nodes per routee on the consistent-hash ring (Akka `virtual-nodes-factor` 10; more evens out). */
    virtualNodes: 160,
    /** Weight of the newest RTT in the latency EWMA. */
    ewmaAlpha: 0.3,
    /** Ask timeout used for routed asks, ms (the asker's own timeout still applies). */
    askTimeout: 60_000,
  },
  pool: {
    /** Resize check period, ms (Akka `resizer.messages-per-resize`-like cadence). */
    checkMs: 1000,
    /** Grow when the average routee mailbox holds at least this many messages. */
    growAtMailbox: 4,
    /** Shrink when every routee mailbox has been empty for this long, ms. */
    shrinkAfterIdleMs: 10_000,
  },
  priority: {
    /** Weighted-round-robin shares per class: critical, high, medium, low (low's minimum share 1/15). */
    weights: { critical: 8, high: 4, medium: 2, low: 1 },
  },
  degradation: {
    /** ms a better level must hold before the level steps up (hysteresis). */
    recoverAfterMs: 30_000,
  },
  workflow: {
    /** Per-task timeout, ms, when the task gives none. */
    taskTimeout: 30_000,
  },
  durableWorkflow: {
    /** ms between reads of a waiting run's signal inbox (signals sent through another engine on a shared store). */
    signalPollMs: 1000,
    /** Runs `list()` returns when not told. */
    listDefault: 1000,
    /** Runs `resume()` looks at (one listing of the journal). */
    listLimit: 100_000,
    /** Tries of one `signal()` when other senders to the same run race it (each fences the others). */
    signalAttempts: 10,
  },
} as const;
