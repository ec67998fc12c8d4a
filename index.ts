/** apiary: an actor-model runtime for Node.js with Erlang/OTP supervision. */
export * from './actors/index.js';
export * from './supervisor/index.js';
export * from './runtime/index.js';
export * from './transport/index.js';
export * from './toolkit/index.js';
