/**
 * ThreadPlacement: where a remote child on this node's worker threads gets its cells — the
 * thread its spec names (waiting while that thread is being replaced) or the least loaded
 * one (`auto`), each cell made there through the thread manager and reached through that
 * thread's peer. A lost thread ends its actors with `thread-crash`.
 * Threads: thread 0.
 */
import type { Host } from '../../actors/host.js';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import type { PeerRoutes } from '../../transport/peer-routes.js';
import type { PlacedCell, Placement, RemoteChildRequest } from '../node/remote-child.js';
import type { ThreadManager } from './thread-manager.js';

export class ThreadPlacement implements Placement {
  readonly lostReason = 'thread-crash' as const;

  constructor(
    private readonly host: Host,
    private readonly threads: ThreadManager,
    private readonly routes: PeerRoutes,
  ) {}

  get node(): string {
    return this.host.node;
  }

  async place(req: RemoteChildRequest, path: string): Promise<PlacedCell> {
    const thread = await this.threads.place(req.thread);
    const id = await this.threads.create(thread, {
      actor: req.actor,
      args: req.options.args,
      mailbox: req.options.mailbox,
      path,
      parent: { thread: this.host.thread, id: req.parent === undefined ? 0 : req.parent.id },
    });
    const peer = this.routes.thread(thread);
    if (peer === undefined) {
      this.threads.released(thread);
      throw new ApiaryError(ErrorCodes.THREAD_GONE, `thread ${thread} is gone`);
    }
    return { peer, node: this.host.node, incarnation: this.host.incarnation, thread, id };
  }

  release(cell: PlacedCell): void {
    this.threads.released(cell.thread);
  }
}
