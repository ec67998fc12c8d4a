/**
 * How a message reaches a mailbox across threads and nodes: the msgpack codec, the batched
 * thread links, node links and membership. Users rarely need these directly.
 */
export { assertPlainData, CODEC_DEFAULTS } from './codec.js';
export type { Member, MemberEvent, MemberState } from './membership.js';
export { NODE_LINK_DEFAULTS, PROTOCOL_VERSION } from './node-link.js';
export type { HandshakeRefusal } from './node-link.js';
export { LOW_LATENCY_DEFAULTS, lowLatencyStats } from './spinner.js';
export type { LowLatencyOption, LowLatencyOptions, LowLatencyStats } from './spinner.js';
