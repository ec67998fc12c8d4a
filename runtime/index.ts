/**
 * One node and the cluster, public surface: the ActorSystem and its options, stopping on
 * signals, health and metrics types, alert rules and channels, the admin server. The
 * failure detector and the alert engine are internal (`apiary-runtime/internals`).
 */
export { ActorSystem } from './node/actor-system.js';
export type { ActorSystemOptions, NodeHealth, SystemSpawnOptions } from './node/actor-system.js';
export type { WorkflowSource, WorkflowHost } from './node/workflow-source.js';
export type { AppNode, AppSetup } from './node/app-setup.js';
export { stopOnSignals } from './node/signals.js';
export type { SignalOptions } from './node/signals.js';
export type { PoolOptions } from './threads/pool.js';
export type { ThreadOptions } from './threads/thread-manager.js';
export type { Heartbeat } from './observability/heartbeat.js';
export type { HealthOptions, HealthStatus, ThreadHealth } from './observability/health.js';
export { PHI_DEFAULTS } from './cluster/phi-accrual.js';
export type { PhiOptions } from './cluster/phi-accrual.js';
export { consoleChannel, logChannel, webhookChannel, DEFAULT_RULES } from './observability/alerts.js';
export type { AlertRule, AlertChannel, AlertNotice, Severity } from './observability/alerts.js';
export type { MetricsSnapshot } from './observability/node-stats.js';
export { startAdminServer, ADMIN_DEFAULTS } from './admin/admin-server.js';
export { ADMIN_REFUSALS } from './admin/admin-access.js';
export type { AdminServer, AdminServerOptions } from './admin/admin-server.js';
export { createMetrics } from './observability/metrics.js';
export type { NodeMetrics, MetricsOptions, MetricsRegistry } from './observability/metrics.js';
export type { Cluster } from './cluster/cluster.js';
export type { ClusterOptions } from './cluster/cluster.js';
export type { LiveSettings, AlertSettings, RateLimitSettings, DegradationSettings, DegradationRuleSettings, SettingsChange } from './config/live-settings.js';
export type { NodeConfig } from './config/node-config.js';
export { CLUSTER_DEFAULTS } from './cluster/defaults.js';
export { createLogger, SILENT_LOGGER, LOG_LEVELS, LOG_FORMATS, LOG_DEFAULTS } from './logging/logger.js';
export type { Logger, LoggerOptions, LogFields, LogLevel, LogFormat } from './logging/logger.js';
export type { RefusalEntry, RefusalSide } from './cluster/refusals.js';
export type { DowningStrategy } from './cluster/split-brain.js';
export { TOPIC_DEFAULTS, topicsOf } from './cluster/topics.js';
export { SINGLETON_DEFAULTS } from './cluster/singletons.js';
export { ENTITY_DEFAULTS } from './cluster/entities.js';
export type { Entities, EntityRef, EntityOptions, EntityRegionStatus } from './cluster/entities.js';
export type { Singletons, SingletonOptions, SingletonStatus } from './cluster/singletons.js';
export type { Topics, TopicInfo, TopicLimits, PublishResult, ActorTopics } from './cluster/topics.js';
export type { LinkFaults } from './cluster/link-faults.js';
export * from './persistence/index.js';
export { createTaskQueue, TaskQueue } from './tasks/task-queue.js';
export type { TaskQueueOptions, ListOptions, PurgeOptions, ClaimOptions } from './tasks/task-queue.js';
export { TaskConsumer } from './tasks/task-consumer.js';
export type { ConsumeOptions, ConsumerStats, TaskHandler } from './tasks/task-consumer.js';
export { TASK_DEFAULTS, TASK_PRIORITIES, TASK_STATES } from './tasks/task.js';
export type { Task, TaskState as DurableTaskState, TaskPriority, TaskRetry, TaskBackoff, TaskLease, SubmitOptions } from './tasks/task.js';
export type { TaskStore, TaskFilter } from './tasks/task-store.js';
export { createMemoryTaskStore } from './tasks/local-task-store.js';
export { openLmdbTaskStore, LMDB_TASKS_DB } from './tasks/lmdb-task-store.js';
export type { LmdbTaskStoreOptions } from './tasks/lmdb-task-store.js';
export { openRedisTaskStore } from './tasks/redis-task-store.js';
export type { RedisTaskStoreOptions } from './tasks/redis-task-store.js';
export { openTaskStore } from './tasks/open-task-store.js';
export type { SharedStoreHandles } from './tasks/open-task-store.js';
