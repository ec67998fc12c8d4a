/**
 * NodePlacement: where a remote child on another node gets its cells — its class by module
 * URL and export name, spawned on that node's main thread or (with `thread`) one of its
 * worker threads. A new cell goes to the named node if it is up, else (placement
 * `failover`) to the first other up member by name, else (`failover`, no other member up)
 * to this node itself, through the cluster's loopback (runtime/cluster/loopback.ts): the
 * tree keeps running when the last peer is lost. `pinned` never moves (no member up: the
 * start fails and the supervisor decides). A lost node ends its actors with `node-down`;
 * the worker that ran one dying there ends it with `thread-crash` (the peer says `lost`).
 * The new actor has a new ref. A child that fell back here stays here until its next
 * restart (placement happens at each start, never in between).
 * Threads: thread 0, where the sessions and supervisors live.
 */
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import type { NodeSession } from '../../transport/node-session.js';
import type { PlacedCell, Placement, RemoteChildRequest } from '../node/remote-child.js';
import { actorModuleOf } from '../threads/actor-module.js';
import type { Cluster } from './cluster.js';

export class NodePlacement implements Placement {
  readonly lostReason = 'node-down' as const;

  constructor(
    private readonly cluster: Cluster,
    /** The node named in the spec (or spawn options). */
    readonly node: string,
    private readonly mode: 'failover' | 'pinned',
  ) {}

  async place(req: RemoteChildRequest, path: string): Promise<PlacedCell> {
    const { module, exportName } = await actorModuleOf(req.actor);
    let last = new ApiaryError(ErrorCodes.NODE_DOWN, `node ${this.node} is not up and no other member can take ${path}`);
    const spawnOn = async (session: NodeSession, thread: number | 'auto'): Promise<PlacedCell | undefined> => {
      const res = await session.endpoint.request(-1, 0, { k: 'spawn', module, exportName, args: req.options.args, path, mailbox: req.options.mailbox, thread });
      if (!res.ok || res.id === undefined) {
        last = new ApiaryError((res.ok ? ErrorCodes.NODE_DOWN : res.error.code) as ApiaryError['code'], res.ok ? 'no id' : res.error.message);
        return undefined;
      }
      return { peer: session, node: session.peer.name, incarnation: session.peer.incarnation, thread: res.thread ?? 0, id: res.id };
    };
    for (const session of this.cluster.placementCandidates(this.node, this.mode)) {
      const placed = await spawnOn(session, req.thread);
      if (placed !== undefined) return placed;
    }
    if (this.mode === 'failover') {
      // nobody else can take it: this node runs it (a worker index meant for another node becomes `auto`)
      const here = this.cluster.loopback();
      if (here !== undefined) {
        const placed = await spawnOn(here, req.thread === 0 ? 0 : 'auto');
        if (placed !== undefined) return placed;
      }
    }
    throw new ApiaryError(ErrorCodes.START_FAILED, `${path} could not be placed: ${last.message}`, { cause: last });
  }

  release(): void {}
}
