/**
 * Defaults of the links between threads and nodes (flow control and outbound bounds), in one
 * place. What both ends must agree on is the protocol's, not a default: FLOW_CONTROL in
 * transport/frames.ts. docs/architecture.md § Flow control explains how they fit together.
 */
export const TRANSPORT_DEFAULTS = {
  /**
   * Receive window of a thread link, bytes of charge: what one thread may have sent another
   * that the other has not yet taken for processing (or dropped, or handed on). A message's
   * charge is its encoded bytes plus FLOW_CONTROL.messageCost.
   */
  threadWindowBytes: 4 * 1024 * 1024,
  /**
   * Outbound bound of a thread link, bytes: encoded messages waiting for the receiver's
   * window. Past it `tell` returns false and an ask rejects `ERR_BACKPRESSURE`.
   */
  threadMaxQueuedBytes: 8 * 1024 * 1024,
  /** Receive window of a node link, bytes of charge (the outbound bound is the cluster's `maxQueuedBytes`). */
  nodeWindowBytes: 8 * 1024 * 1024,
  /**
   * Room above a link's outbound bound for system frames (watch, exit, lifecycle requests and
   * their answers), as a share of the bound: they still pass while messages are refused.
   * Past it too a system frame is dropped and the link is given up (a node's is closed).
   */
  systemReserve: 0.25,
  /**
   * Bound of the control lane (answers, heartbeats, gossip that overtake messages waiting for
   * the window or the carrier), as a share of the link's outbound bound. Past it they are
   * dropped: an answer's asker times out. So a link holds at most 1.5× its bound.
   */
  controlShare: 0.25,
  /** A receiver grants its window back once this share of it was released. */
  grantShare: 0.25,
} as const;
