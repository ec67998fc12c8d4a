/** One node: the ActorSystem, clock, errors. */
export { ActorSystem } from './actor-system.js';
export type { ActorSystemOptions, SystemSpawnOptions } from './actor-system.js';
export { RealClock, ManualClock } from './clock.js';
export type { Clock, TimerHandle } from './clock.js';
export { ApiaryError, ErrorCodes, serializeError } from './errors.js';
export type { ErrorCode, SerializedError } from './errors.js';
export { stopOnSignals } from './signals.js';
export type { SignalOptions } from './signals.js';
export type { PoolOptions } from './pool.js';
export type { ThreadOptions } from './threads.js';
