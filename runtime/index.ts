/** One node: the ActorSystem, clock, errors. */
export { ActorSystem } from './actor-system.js';
export type { ActorSystemOptions, NodeHealth, SystemSpawnOptions } from './actor-system.js';
export { RealClock, ManualClock } from './clock.js';
export type { Clock, TimerHandle } from './clock.js';
export { ApiaryError, ErrorCodes, serializeError } from './errors.js';
export type { ErrorCode, SerializedError } from './errors.js';
export { stopOnSignals } from './signals.js';
export type { SignalOptions } from './signals.js';
export type { PoolOptions } from './pool.js';
export type { ThreadOptions } from './threads.js';
export type { Heartbeat } from './heartbeat.js';
export type { HealthOptions, HealthStatus, ThreadHealth } from './health.js';
export { PhiAccrual, phi, PHI_DEFAULTS } from './phi-accrual.js';
export type { PhiOptions } from './phi-accrual.js';
export { AlertEngine, consoleChannel, webhookChannel, DEFAULT_RULES } from './alerts.js';
export type { AlertRule, AlertChannel, AlertNotice, Severity } from './alerts.js';
export type { MetricsSnapshot } from './node-stats.js';
