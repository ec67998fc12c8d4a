/**
 * How a message reaches a mailbox across threads and nodes, public surface: the defaults,
 * membership types and low-latency statistics. The codec and links themselves are internal
 * (`assertPlainData` is in `apiary-runtime/internals`).
 */
export { CODEC_DEFAULTS } from './codec.js';
export { TRANSPORT_DEFAULTS } from './defaults.js';
export { FLOW_CONTROL } from './frames.js';
export type { Member, MemberEvent, MemberState } from './membership.js';
export { NODE_LINK_DEFAULTS, PROTOCOL_VERSION } from './node-link.js';
export type { HandshakeRefusal } from './node-link.js';
export { LOW_LATENCY_DEFAULTS, ASK_POLL_DEFAULTS } from './spinner.js';
export { askPollStats, lowLatencyStats } from './peer-routes.js';
export type { LowLatencyOption, LowLatencyOptions, LowLatencyStats } from './spinner.js';
