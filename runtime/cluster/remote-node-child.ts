/**
 * RemoteNodeChild: a supervisor's handle on a child that runs on another node of the cluster.
 *
 * Owns: placing the child (its class by module URL and export name, spawned on the peer's
 * main thread, or on one of its worker threads with `thread`) and driving its lifecycle over
 * the node session — the same protocol as a child on a worker thread
 * (runtime/threads/remote-child.ts), with `node-down` in place of `thread-crash`. When the peer's
 * worker thread that ran it dies, the peer says `lost` and the child exits `thread-crash`; a
 * restart makes a new cell. When its node goes down the child exits `node-down`; its
 * supervisor decides, and a restart places it again: on the named node if it is up, else
 * (placement `failover`) on the first other up member by name. The new actor has a new ref.
 * Threads: thread 0, where the sessions and supervisors live.
 */
import type { ActorCell } from '../../actors/actor-cell.js';
import type { RemoteSpawnRequest } from '../../actors/host.js';
import type { ResPayload } from '../../transport/frames.js';
import type { NodeSession } from '../../transport/node-session.js';
import { actorModuleOf } from '../threads/actor-module.js';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import { RemoteChild, type ChildChannel } from '../threads/remote-child.js';
import type { Cluster } from './cluster.js';

export class RemoteNodeChild extends RemoteChild {
  private session: NodeSession | undefined;
  private nodeName: string;

  constructor(
    private readonly cluster: Cluster,
    req: Omit<RemoteSpawnRequest, 'parent'> & { parent: ActorCell | undefined; node: string },
    path: string,
  ) {
    super(undefined, cluster.host, req, path);
    this.nodeName = req.node;
  }

  override get node(): string {
    return this.nodeName;
  }

  protected override channel(): ChildChannel | undefined {
    const session = this.session;
    if (this.needsCell || session === undefined || session.closed) return undefined;
    const { thread, id } = this;
    return { request: (p) => session.request(thread, id, p), sendSys: (p) => session.sendSys(thread, id, p) };
  }

  protected override unreachable(): ResPayload {
    return { ok: false, error: { name: 'ApiaryError', message: `node ${this.nodeName} is down`, code: ErrorCodes.NODE_DOWN } };
  }

  protected override async createCell(): Promise<void> {
    const { module, exportName } = await actorModuleOf(this.req.actor);
    const wanted = this.req.node!;
    const candidates = this.cluster.placementCandidates(wanted, this.req.placement ?? 'failover');
    let last: ApiaryError = new ApiaryError(ErrorCodes.NODE_DOWN, `node ${wanted} is not up and no other member can take ${this.path}`);
    for (const session of candidates) {
      const res = await session.request(-1, 0, {
        k: 'spawn',
        module,
        exportName,
        args: this.req.options.args,
        path: this.path,
        mailbox: this.req.options.mailbox,
        thread: this.req.thread,
      });
      if (!res.ok || res.id === undefined) {
        last = new ApiaryError((res.ok ? ErrorCodes.NODE_DOWN : res.error.code) as ApiaryError['code'], res.ok ? 'no id' : res.error.message);
        continue;
      }
      this.forget();
      this.session = session;
      this.nodeName = session.peer.name;
      this.thread = res.thread ?? 0;
      this.id = res.id;
      session.children.set(`${this.thread}:${this.id}`, this);
      this.adopt(this.cluster.host.resolveRef({ node: session.peer.name, incarnation: session.peer.incarnation, thread: this.thread, id: this.id }, this.path));
      return;
    }
    throw new ApiaryError(ErrorCodes.START_FAILED, `${this.path} could not be placed: ${last.message}`, { cause: last });
  }

  protected override forget(): void {
    this.session?.children.delete(`${this.thread}:${this.id}`);
  }

  protected override release(): void {}
}
