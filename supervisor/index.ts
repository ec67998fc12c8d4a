/** OTP supervision: specs, strategies, restart intensity, backoff, the tree snapshot. */
export { supervisor, STRATEGIES, RESTART_TYPES } from './child-spec.js';
export type {
  ChildSpec,
  ChildTemplate,
  Decider,
  ErrorDirective,
  RestartType,
  Strategy,
  SupervisorOptions,
  SupervisorSpec,
} from './child-spec.js';
export { Supervisor } from './supervisor.js';
export type { ChildInfo, ChildCounts } from './child-table.js';
export { SupervisorRef } from './supervisor-ref.js';
export { backoffDelay, attemptAfterRun } from './backoff.js';
export type { BackoffOptions, BackoffPolicy } from './backoff.js';
export { recordRestart } from './restart-intensity.js';
export { restartGroup } from './strategy.js';
export type { TreeEntry, TreeSnapshot } from './tree.js';
export { DEFAULTS as SUPERVISOR_DEFAULTS } from './defaults.js';
