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
 * old incarnation is removed first, so refs into it stay dead. This node's own entry is
 * always `up`; when the node learns it was downed it takes a new incarnation
 * ({@link Membership.reincarnate}: the old self goes `down`, the new one is `up`).
 * What is gossiped: this node and the members it has a handshake with (`up`,
 * `unreachable`) — never a member only heard of (`joining`), so a member invented by one
 * peer is not passed on; downed incarnations travel separately (runtime/cluster/tombstones.ts).
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

  /** Members in the table, this node included. */
  get size(): number {
    return this.table.size;
  }

  /** This node's own entry. */
  get self(): Member {
    for (const m of this.table.values()) if (m.self) return m;
    throw new Error('unreachable: the table always holds this node');
  }

  /**
   * This node starts over as `incarnation` (it was downed): its old self goes `down`, the
   * new one is `up`, each emitted once.
   */
  reincarnate(incarnation: number, now: number): void {
    const me = this.self;
    this.emit({ ...me, state: 'down' }, me.state, now);
    me.incarnation = incarnation;
    me.since = now;
    me.state = 'up';
    this.emit(me, undefined, now);
  }

  /**
   * The view to gossip: this node and the members it has a handshake with (`up`,
   * `unreachable`) with their states as seen here, at most `max` (this node first).
   */
  gossip(max = Infinity): GossipMember[] {
    const out: GossipMember[] = [];
    const me = this.self;
    out.push({ node: me.node, incarnation: me.incarnation, url: me.url, state: me.state });
    for (const m of this.table.values()) {
      if (out.length >= max) break;
      if (m.self || (m.state !== 'up' && m.state !== 'unreachable')) continue;
      out.push({ node: m.node, incarnation: m.incarnation, url: m.url, state: m.state });
    }
    return out;
  }

  complete(): void {
    this.subject.complete();
  }

  private emit(m: Member, previous: MemberState | undefined, at: number): void {
    this.subject.next({ type: 'member', node: m.node, incarnation: m.incarnation, url: m.url, state: m.state, previous, at });
  }
}
