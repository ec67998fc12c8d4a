/**
 * How a message reaches a mailbox across threads (and, later, nodes): the msgpack codec and
 * the batched thread links. Users rarely need these directly.
 */
export { assertPlainData, CODEC_DEFAULTS } from './codec.js';
