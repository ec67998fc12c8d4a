/**
 * How a message reaches a mailbox across threads and nodes (codec, thread links, node links).
 * Empty until the worker-threads issue: in one thread, delivery is a direct enqueue.
 */
export {};
