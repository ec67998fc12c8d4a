/**
 * Membership: this node's view of the cluster — who is in it, under which incarnation, and
 * in which state.
 *
 * Owns: the member table and its state changes, each emitted once on `changes$`:
 *
 *   joining → up → unreachable → up … → down → removed
 *
 * `joining`: heard of (gossip or a seed) but no heartbeat over a direct link yet; `up`:
 * heartbeats arrive; `unreachable`: the failure detector suspects it or its link dropped;
 * `down`: given up on (watchers of its actors got `node-down`, its children were restarted
 * elsewhere); `removed`: gone from the table (after `down`, or replaced by a newer
 * incarnation of the same name). A node restarted under the same name is a new member: the
 * old incarnation is removed first, so refs into it stay dead.
 * Does not own: why a state changes (runtime/cluster/cluster.ts decides) or the links.
 * Time: `at` comes from the caller's clock.
 */
import { Subject, type Observable } from 'rxjs';
import type { GossipMember } from './frames.js';

export type MemberState = 'joining' | 'up' | 'unreachable' | 'down' | 'removed';

export interface Member {
  node: string;
  incarnation: number;
  /** Where it accepts node links (`ws://host:port`); '' if it does not listen. */
  url: string;
  state: MemberState;
  /** Clock time of the last state change, ms. */
  since: number;
  self: boolean;
}

/** One state change of one member. */
export interface MemberEvent {
  type: 'member';
  node: string;
  incarnation: number;
  url: string;
  state: MemberState;
  previous: MemberState | undefined;
  at: number;
}

export class Membership {
  private readonly table = new Map<string, Member>();
  private readonly subject = new Subject<MemberEvent>();
  readonly changes$: Observable<MemberEvent> = this.subject.asObservable();

  constructor(self: { node: string; incarnation: number; url: string }, now: number) {
    this.table.set(self.node, { ...self, state: 'up', since: now, self: true });
  }

  /** This node now accepts node links at `url` (told to the others by gossip). */
  listeningAt(url: string): void {
    for (const m of this.table.values()) if (m.self) m.url = url;
  }

  get(node: string): Member | undefined {
    return this.table.get(node);
  }

  /** Every member, by name. */
  list(): Member[] {
    return [...this.table.values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }

  /**
   * Sets `node`'s incarnation, url and state. A different incarnation replaces the entry
   * (the old one is `removed` first); an unchanged state emits nothing.
   */
  set(node: string, incarnation: number, url: string, state: MemberState, now: number): void {
    const old = this.table.get(node);
    if (old !== undefined && old.incarnation !== incarnation) this.remove(node, now);
    const current = this.table.get(node);
    if (current !== undefined) {
      if (url !== '') current.url = url;
      if (current.state === state) return;
      const previous = current.state;
      current.state = state;
      current.since = now;
      this.emit(current, previous, now);
      return;
    }
    const m: Member = { node, incarnation, url, state, since: now, self: false };
    this.table.set(node, m);
    this.emit(m, undefined, now);
  }

  /** Drops `node` from the table (`removed`). */
  remove(node: string, now: number): void {
    const m = this.table.get(node);
    if (m === undefined || m.self) return;
    this.table.delete(node);
    this.emit({ ...m, state: 'removed' }, m.state, now);
  }

  /** The view to gossip: every member with its state as seen here. */
  gossip(): GossipMember[] {
    return this.list().map((m) => ({ node: m.node, incarnation: m.incarnation, url: m.url, state: m.state }));
  }

  complete(): void {
    this.subject.complete();
  }

  private emit(m: Member, previous: MemberState | undefined, at: number): void {
    this.subject.next({ type: 'member', node: m.node, incarnation: m.incarnation, url: m.url, state: m.state, previous, at });
  }
}
