/**
 * The codec of one link end between two threads of this node (transport/codec.ts): record
 * structures learnt in order along the link (the link is trusted: both ends are this node's
 * own code), refs rebuilt by this thread's host, and the size cap of `maxMessageBytes`.
 * Its own module, so a worker host does not load the thread manager to make one.
 */
import type { Host } from '../../actors/host.js';
import { Codec } from '../../transport/codec.js';
import { THREAD_DEFAULTS } from './thread-options.js';

/** A fresh codec for one link end of `host`'s thread. */
export function threadCodec(host: Host, options: { maxMessageBytes?: number }): Codec {
  return new Codec({
    maxMessageBytes: options.maxMessageBytes ?? THREAD_DEFAULTS.maxMessageBytes,
    records: 'sequential',
    resolveRef: (address, path) => host.resolveRef(address, path),
  });
}
