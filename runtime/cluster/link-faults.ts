/**
 * Link faults: a test-only fault injector that cuts this node's links to named nodes without
 * pausing any process — a network partition as this node sees it.
 *
 * Owns: the set of cut names; links wrapped so that, while their peer is cut, frames both
 * ways are dropped (counted) and the news of the socket closing is held back until the cut
 * heals (a partition hides a close too); and whether the injector may exist at all:
 * {@link testFaultsEnabled} is true only with `APIARY_TEST_FAULTS=1` in the environment and
 * `NODE_ENV` not `production`. Nothing else turns it on, no flag or config field: a node
 * started without that variable has no injector (`cluster.faults` is undefined).
 * Cutting both ends (each node of one side cuts the other side) is a clean partition;
 * cutting one end makes that end deaf and mute to the other.
 * Does not own: refusing dials and handshakes with cut nodes (runtime/cluster/cluster.ts asks
 * {@link LinkFaults.isCut}).
 * Threads: thread 0.
 */
import type { NodeLink } from '../../transport/node-link.js';

/** True when the environment asks for test faults (`APIARY_TEST_FAULTS=1`, outside `NODE_ENV=production`). */
export function testFaultsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.APIARY_TEST_FAULTS === '1' && env.NODE_ENV !== 'production';
}

export class LinkFaults {
  private readonly cut = new Set<string>();
  /** Close notifications held back while their peer is cut, by name. */
  private readonly held = new Map<string, (() => void)[]>();
  /** Frames dropped since start, both ways. */
  dropped = 0;

  /** Cuts the links to `nodes` (by name) until {@link heal}. */
  partition(nodes: readonly string[]): void {
    for (const n of nodes) this.cut.add(n);
  }

  /** Heals the cuts to `nodes` (all when omitted); closes that happened meanwhile are told now. */
  heal(nodes?: readonly string[]): void {
    for (const n of nodes ?? [...this.cut]) {
      this.cut.delete(n);
      const held = this.held.get(n);
      this.held.delete(n);
      for (const tell of held ?? []) tell();
    }
  }

  isCut(node: string): boolean {
    return this.cut.has(node);
  }

  /** The names cut now. */
  cuts(): string[] {
    return [...this.cut].sort();
  }

  /** `link`, with its frames dropped and its close held back while its peer is cut. */
  wrap(link: NodeLink): NodeLink {
    const name = link.peer.name;
    const faults = this;
    return {
      peer: link.peer,
      address: link.address,
      send(frame, written) {
        if (!faults.cut.has(name)) return link.send(frame, written);
        faults.dropped++;
        written?.();
        return true;
      },
      get bufferedAmount() {
        return link.bufferedAmount;
      },
      onFrame: (h) =>
        link.onFrame((bytes) => {
          if (faults.cut.has(name)) faults.dropped++;
          else h(bytes);
        }),
      onClose: (h) =>
        link.onClose((code, reason) => {
          if (!faults.cut.has(name)) return h(code, reason);
          const list = faults.held.get(name) ?? [];
          list.push(() => h(code, reason));
          faults.held.set(name, list);
        }),
      close: (code, reason) => link.close(code, reason),
    };
  }
}
