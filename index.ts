/**
 * `apiary-runtime`: an actor-model runtime for Node.js with Erlang/OTP supervision — the
 * package root, the public API only. Each folder's index.ts lists its public names; what
 * they leave out is internal (a few internals are reachable, with no compatibility promise,
 * from `apiary-runtime/internals`: internals.ts). Adding a name here is an API promise:
 * say so in CHANGELOG.md.
 */
export * from './actors/index.js';
export * from './supervisor/index.js';
export * from './runtime/index.js';
export * from './transport/index.js';
export * from './toolkit/index.js';
