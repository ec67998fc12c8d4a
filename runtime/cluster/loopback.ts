/**
 * Loopback: this node as a placement target for its own failover children — the fallback
 * when no other member is up (README § Cluster, "Failover placement").
 *
 * Owns: a pair of node sessions joined by an in-memory link (what one end sends, the other
 * receives a microtask later), so a child placed here is driven exactly as one placed on
 * another node: spawned by a `spawn` request (HostedChildren: this thread, or a worker with
 * `auto`), started, stopped and restarted by lifecycle requests, its exits reported back as
 * `exit` frames, in order. Its ref is a local ref (this node's own incarnation), so messages
 * to it never cross the loopback.
 * Does not own: when to fall back (runtime/cluster/node-placement.ts) or the hosted actors'
 * rules (hosted-children.ts).
 * Threads: thread 0. Lives as long as the cluster.
 */
import type { Host } from '../../actors/host.js';
import { Codec, UNTRUSTED_BUDGET } from '../../transport/codec.js';
import type { ResPayload, SpawnRequest } from '../../transport/frames.js';
import type { NodeLink } from '../../transport/node-link.js';
import { NodeSession, type SessionHandler } from '../../transport/node-session.js';
import type { PeerRoutes } from '../../transport/peer-routes.js';
import { ApiaryError, ErrorCodes, serializeError } from '../../actors/foundation/errors.js';
import type { ThreadManager } from '../threads/thread-manager.js';
import { HostedChildren } from './hosted-children.js';

/** Two in-memory links to each other, both named after `peer`. */
function linkPair(peer: { name: string; incarnation: number }): [NodeLink, NodeLink] {
  const make = (): NodeLink & { other?: NodeLink & { deliver(b: Uint8Array): void }; deliver(b: Uint8Array): void; closed: boolean } => {
    const frames: ((b: Uint8Array) => void)[] = [];
    const closes: ((code: number, reason: string) => void)[] = [];
    const link = {
      peer,
      address: 'loopback',
      closed: false,
      other: undefined as (NodeLink & { deliver(b: Uint8Array): void }) | undefined,
      send(frame: Uint8Array, written?: () => void): boolean {
        if (link.closed) return false;
        const other = link.other!;
        queueMicrotask(() => other.deliver(frame));
        written?.();
        return true;
      },
      bufferedAmount: 0,
      deliver(b: Uint8Array): void {
        if (!link.closed) for (const h of frames) h(b);
      },
      onFrame: (h: (b: Uint8Array) => void) => void frames.push(h),
      onClose: (h: (code: number, reason: string) => void) => void closes.push(h),
      close(code = 1000, reason = ''): void {
        if (link.closed) return;
        link.closed = true;
        for (const h of closes) h(code, reason);
      },
    };
    return link;
  };
  const a = make();
  const b = make();
  a.other = b;
  b.other = a;
  return [a, b];
}

export class Loopback {
  /** The end placements use: its requests reach the hosting end. */
  readonly session: NodeSession;
  private readonly hosting: NodeSession;

  constructor(host: Host, routes: PeerRoutes, threads: ThreadManager | undefined) {
    const peer = { name: host.node, incarnation: host.incarnation };
    const codec = new Codec({ resolveRef: (address, path) => host.resolveRef(address, path) });
    const options = { highWaterBytes: Number.MAX_SAFE_INTEGER, maxQueuedBytes: Number.MAX_SAFE_INTEGER, budget: UNTRUSTED_BUDGET };
    const handler: SessionHandler = {
      heartbeat: () => {},
      gossip: () => {},
      spawn: (session: NodeSession, req: SpawnRequest): Promise<ResPayload> =>
        session.closed
          ? Promise.resolve({ ok: false, error: serializeError(new ApiaryError(ErrorCodes.NODE_DOWN, 'the cluster stopped')) })
          : (session.hosted as HostedChildren).fromPeer(req),
      malformed: () => {},
    };
    const hosted = (s: NodeSession) => new HostedChildren(host, routes, threads, s.endpoint);
    this.session = new NodeSession(host, routes, codec, peer, handler, options, hosted);
    this.hosting = new NodeSession(host, routes, codec, peer, handler, options, hosted);
    const [a, b] = linkPair(peer);
    this.session.attach(a);
    this.hosting.attach(b);
  }

  /** The cluster stops: children placed here exit `node-down` and the hosted actors stop. */
  close(): void {
    this.session.close();
    this.hosting.close();
  }
}
