/**
 * The actor model's public surface: Actor, ActorRef, mailbox options, exit reasons, events,
 * the clock and the errors. What is not listed here is internal (some of it is reachable,
 * without a compatibility promise, from `apiary-runtime/internals`: see internals.ts).
 */
export { Actor, isTerminated } from './actor.js';
export type { ActorClass, ActorContext, DeferredReply, SpawnOptions, Terminated, MessageOf, ReplyOf, RefOf, ArgsOfClass } from './actor.js';
export { ActorRef } from './actor-ref.js';
export type { AskOptions, TellOptions } from './actor-ref.js';
export type { Address } from './address.js';
export { isNormalExit, describeReason } from './exit-reason.js';
export type { ExitReason } from './exit-reason.js';
export { PRIORITIES } from './mailbox.js';
export type { MailboxOptions, OverflowPolicy, Priority } from './mailbox.js';
export type { SystemEvent, SystemEventType, DeadLetterReason, Directive } from './events.js';
export type { Shutdown } from './shutdown.js';
export { DEFAULTS as ACTOR_DEFAULTS } from './defaults.js';
export { RealClock, ManualClock } from './foundation/clock.js';
export type { Clock, TimerHandle } from './foundation/clock.js';
export { ApiaryError, ErrorCodes } from './foundation/errors.js';
export type { ErrorCode, SerializedError } from './foundation/errors.js';
