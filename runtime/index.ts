/** One node: the ActorSystem, clock, errors. */
export { ActorSystem } from './actor-system.js';
export type { ActorSystemOptions, SystemSpawnOptions } from './actor-system.js';
export { RealClock, ManualClock } from './clock.js';
export type { Clock, TimerHandle } from './clock.js';
export { ApiaryError, ErrorCodes, serializeError } from './errors.js';
export type { ErrorCode, SerializedError } from './errors.js';
