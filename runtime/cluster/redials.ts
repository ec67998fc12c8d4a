/**
 * Redials: the addresses this node keeps dialling so the cluster heals — its seeds, and the
 * URLs of members that went down or were removed after this node had a link with them.
 *
 * Owns: the list (seeds forever; a lost member's URL until `forgetAfterMs` after it was
 * lost; at most `limit` lost URLs, the oldest pushed out), the backoff of each address
 * (`minMs` doubling to `maxMs` — seeds with their own, shorter `seedMinMs`/`seedMaxMs`, as
 * a node joining must find its seed fast — ± `randomFactor` jitter from the clock's random), which
 * addresses are due at a given time, and the name that answered at each (so a seed written
 * `ws://localhost:…` that answers as `n1` counts as reached while `n1` is up, whatever URL
 * `n1` gives itself). Members heard of only by gossip never enter it: an invented member is
 * not dialled forever.
 * Does not own: dialling (runtime/cluster/cluster.ts), or deciding that an address is
 * reached (the cluster says which names are up).
 * Threads: thread 0. Time: `now` and `random` from the caller's clock.
 */

export interface RedialOptions {
  /** Backoff of a lost member's URL. */
  minMs: number;
  maxMs: number;
  /** Backoff of a seed. */
  seedMinMs: number;
  seedMaxMs: number;
  randomFactor: number;
  forgetAfterMs: number;
  /** Lost members' URLs kept at most (seeds are not counted). */
  limit: number;
}

interface Target {
  seed: boolean;
  /** A seed found by resolving a `dns:` seed (replaced at each resolution). */
  dns?: boolean;
  /** The name that answered there last. */
  node: string | undefined;
  attempt: number;
  /** Clock time of the next dial, ms. */
  nextAt: number;
  /** Clock time it is forgotten (lost members only), ms. */
  forgetAt: number;
}

export class Redials {
  private readonly targets = new Map<string, Target>();

  constructor(
    private readonly options: RedialOptions,
    seeds: readonly string[],
    now: number,
    /** A number in [0, 1) (the clock's random), for the jitter. */
    private readonly random: () => number,
  ) {
    for (const url of seeds) this.targets.set(url, { seed: true, node: undefined, attempt: 0, nextAt: now, forgetAt: Infinity });
  }

  /**
   * The seeds a `dns:` seed resolves to now: new ones are dialled at once (as seeds), those no
   * longer in the answer are dropped (a link already made there stays).
   */
  setDnsSeeds(urls: readonly string[], now: number): void {
    const keep = new Set(urls);
    for (const [url, t] of this.targets) if (t.dns === true && !keep.has(url)) this.targets.delete(url);
    for (const url of urls) {
      const known = this.targets.get(url);
      if (known === undefined) this.targets.set(url, { seed: true, dns: true, node: undefined, attempt: 0, nextAt: now, forgetAt: Infinity });
      else if (!known.seed) Object.assign(known, { seed: true, dns: true, forgetAt: Infinity });
    }
  }

  /** Dials `url` again (soon) until a member is up there: `node` was lost there. No-op for '' and seeds. */
  lost(url: string, node: string, now: number): void {
    if (url === '') return;
    const known = this.targets.get(url);
    if (known !== undefined) {
      known.node ??= node;
      if (!known.seed) known.forgetAt = now + this.options.forgetAfterMs;
      return;
    }
    this.targets.set(url, { seed: false, node, attempt: 0, nextAt: now + this.options.minMs, forgetAt: now + this.options.forgetAfterMs });
    let lostCount = 0;
    for (const t of this.targets.values()) if (!t.seed) lostCount++;
    if (lostCount > this.options.limit) {
      for (const [u, t] of this.targets) {
        if (!t.seed) {
          this.targets.delete(u);
          break;
        }
      }
    }
  }

  /**
   * The addresses to dial at `now`, given which names are up (`isUp`) and which URLs have a
   * member up there (`urlUp`); each returned address is scheduled for its next attempt.
   * An address that is reached starts its backoff over.
   */
  due(now: number, isUp: (node: string) => boolean, urlUp: (url: string) => boolean): string[] {
    const out: string[] = [];
    for (const [url, t] of this.targets) {
      if (now >= t.forgetAt) {
        this.targets.delete(url);
        continue;
      }
      if ((t.node !== undefined && isUp(t.node)) || urlUp(url)) {
        t.attempt = 0;
        t.nextAt = now + (t.seed ? this.options.seedMinMs : this.options.minMs);
        continue;
      }
      if (now < t.nextAt) continue;
      t.nextAt = now + this.backoff(t.seed, t.attempt++);
      out.push(url);
    }
    return out;
  }

  /** `url` answered as `node` (a handshake completed there). */
  answered(url: string, node: string): void {
    const t = this.targets.get(url);
    if (t !== undefined) t.node = node;
  }

  /** Every address, for status and tests. */
  list(): { url: string; seed: boolean; node: string | undefined }[] {
    return [...this.targets].map(([url, t]) => ({ url, seed: t.seed, node: t.node }));
  }

  /** Each address due at once at its next `due` (this node rejoins as a new incarnation). */
  hurry(now: number): void {
    for (const t of this.targets.values()) {
      t.attempt = 0;
      t.nextAt = now;
    }
  }

  private backoff(seed: boolean, attempt: number): number {
    const o = this.options;
    const [minMs, maxMs] = seed ? [o.seedMinMs, o.seedMaxMs] : [o.minMs, o.maxMs];
    const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
    const randomFactor = o.randomFactor;
    return base * (1 + randomFactor * (2 * this.random() - 1));
  }
}
