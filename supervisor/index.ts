/**
 * OTP supervision's public surface: `supervisor()` specs and their option types, the
 * SupervisorRef of dynamic children, the tree snapshot. The policy functions (restart
 * intensity, backoff, strategy groups) and the Supervisor actor itself are internal
 * (`apiary-runtime/internals`, no compatibility promise).
 */
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
export type { ChildInfo, ChildCounts } from './child-table.js';
export { SupervisorRef } from './supervisor-ref.js';
export type { BackoffOptions } from './backoff.js';
export type { TreeEntry, TreeSnapshot } from './tree.js';
export { DEFAULTS as SUPERVISOR_DEFAULTS } from './defaults.js';
