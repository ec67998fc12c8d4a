/**
 * NodePlacement: where a remote child on another node gets its cells — its class by module
 * URL and export name, spawned on that node's main thread or (with `thread`) one of its
 * worker threads. A new cell goes to the named node if it is up, else (placement
 * `failover`) to the first other up member by name; `pinned` never moves. A lost node ends
 * its actors with `node-down`; the worker that ran one dying there ends it with
 * `thread-crash` (the peer says `lost`). The new actor has a new ref.
 * Threads: thread 0, where the sessions and supervisors live.
 */
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
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
    for (const session of this.cluster.placementCandidates(this.node, this.mode)) {
      const res = await session.endpoint.request(-1, 0, {
        k: 'spawn',
        module,
        exportName,
        args: req.options.args,
        path,
        mailbox: req.options.mailbox,
        thread: req.thread,
      });
      if (!res.ok || res.id === undefined) {
        last = new ApiaryError((res.ok ? ErrorCodes.NODE_DOWN : res.error.code) as ApiaryError['code'], res.ok ? 'no id' : res.error.message);
        continue;
      }
      return { peer: session, node: session.peer.name, incarnation: session.peer.incarnation, thread: res.thread ?? 0, id: res.id };
    }
    throw new ApiaryError(ErrorCodes.START_FAILED, `${path} could not be placed: ${last.message}`, { cause: last });
  }

  release(): void {}
}
