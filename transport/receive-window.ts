/**
 * ReceiveWindow: the receiving side of one link's flow control, for one connection of it (a
 * node link that reconnects starts a new window on both sides).
 *
 * Owns: how much the peer sent on this connection that is still here (charge received and
 * not released), how much it was granted (the protocol's initial credit plus every grant
 * sent), and when released charge is due to be granted back (once `grantShare` of the window
 * was released). A message holds its charge from the moment its batch is decoded until it
 * leaves this thread's memory (LinkCredit, actors/mailbox.ts): taken for processing, dropped
 * as a dead letter, or handed on to another link. Also says whether a peer kept within what
 * it was granted (an untrusted node that does not is cut off by the endpoint's handler).
 * Does not own: sending grants (the endpoint, as CREDIT frames), deciding when a message is
 * released (the mailbox, the host, the endpoint that relays it).
 * Threads: the receiving thread. Time: none.
 */
import type { LinkCredit } from '../actors/mailbox.js';
import { TRANSPORT_DEFAULTS } from './defaults.js';
import { FLOW_CONTROL } from './frames.js';

export class ReceiveWindow implements LinkCredit {
  /** Charge of the messages the peer sent on this connection. */
  received = 0;
  /** Charge given back (messages processed, dropped or handed on). */
  released = 0;
  /** Charge the peer may have sent on this connection: the initial credit plus every grant sent. */
  granted: number = FLOW_CONTROL.initialCredit;
  /** Released and not granted back yet (at first: the window beyond the initial credit). */
  private pending: number;
  private readonly grantAt: number;
  /** False once the connection is gone: releases of its messages grant nothing any more. */
  live = true;

  /**
   * `windowBytes` (at least the initial credit): what the peer may have here at most;
   * `due` is called when a grant should be sent (the endpoint sends it at the end of the turn).
   */
  constructor(
    readonly windowBytes: number,
    private readonly due: () => void,
  ) {
    const window = Math.max(windowBytes, FLOW_CONTROL.initialCredit);
    this.pending = window - FLOW_CONTROL.initialCredit;
    this.grantAt = Math.max(1, Math.floor(window * TRANSPORT_DEFAULTS.grantShare));
  }

  /** Charge that arrived and was not given back yet: what the peer holds of this side's memory. */
  get outstanding(): number {
    return this.received - this.released;
  }

  /** A grant waits to be sent. */
  get hasGrant(): boolean {
    return this.pending > 0;
  }

  /** LinkCredit: a message of this connection left this thread's memory. */
  release(charge: number): void {
    if (!this.live) return;
    this.released += charge;
    this.pending += charge;
    if (this.pending >= this.grantAt) this.due();
  }

  /** The grant to send now (counted as granted); 0 if none waits. */
  takeGrant(): number {
    const n = this.pending;
    this.pending = 0;
    this.granted += n;
    return n;
  }

  /**
   * Takes in a batch whose messages hold `charge`. False when the peer sent it although it had
   * already sent all it was granted (a sender only sends while it has credit left, so its last
   * batch may overshoot, never start beyond).
   */
  admit(charge: number): boolean {
    const within = this.received < this.granted;
    this.received += charge;
    return within;
  }
}
