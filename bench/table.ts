/**
 * The human-readable bench table: one line per scenario × system (× variant) with p50, p99,
 * throughput (or spawn rate and heap per actor), the ratio to the `raw` baseline of the same
 * scenario (and variant) and the ratio of apiary to the best peer; then why some systems
 * have no figure.
 */
import type { BenchNote, BenchRow } from './stats.js';

const PEERS = new Set(['nact', 'comedy']);

type Metrics = Map<string, number>;

/** Lower is better for latency and heap, higher for throughput and rate. */
function headline(m: Metrics): { metric: string; value: number; lowerIsBetter: boolean } | undefined {
  for (const metric of ['p50', 'throughput', 'rate', 'heap-per-actor', 'time']) {
    const value = m.get(metric);
    if (value !== undefined) return { metric, value, lowerIsBetter: metric === 'p50' || metric === 'heap-per-actor' || metric === 'time' };
  }
  return undefined;
}

function ratio(m: Metrics, other: Metrics | undefined): string {
  const a = headline(m);
  if (a === undefined || other === undefined) return '';
  const b = other.get(a.metric);
  if (b === undefined || b === 0) return '';
  const r = a.value / b;
  return `${a.metric === 'throughput' ? '' : `${a.metric} `}×${r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}`;
}

function fmt(v: number | undefined, unit = ''): string {
  if (v === undefined) return '';
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M${unit}`;
  if (v >= 1e4) return `${(v / 1e3).toFixed(0)}k${unit}`;
  return `${v}${unit}`;
}

export function table(rows: BenchRow[], notes: BenchNote[] = []): string {
  type Group = { scenario: string; system: string; variant: string; m: Metrics; rateUnit?: string };
  const groups = new Map<string, Group>();
  for (const r of rows) {
    const variant = r.variant ?? '';
    const key = `${r.scenario}|${r.system}|${variant}`;
    const g: Group = groups.get(key) ?? { scenario: r.scenario, system: r.system, variant, m: new Map() };
    g.m.set(r.metric, r.value);
    if (r.metric === 'rate') g.rateUnit = r.unit;
    groups.set(key, g);
  }
  const best = (scenario: string, variant: string): Metrics | undefined => {
    let pick: Metrics | undefined;
    for (const g of groups.values()) {
      if (g.scenario !== scenario || g.variant !== variant || !PEERS.has(g.system)) continue;
      const h = headline(g.m);
      const p = pick === undefined ? undefined : headline(pick);
      if (h === undefined) continue;
      if (p === undefined || (h.lowerIsBetter ? h.value < p.value : h.value > p.value)) pick = g.m;
    }
    return pick;
  };
  const out: string[][] = [['scenario', 'system', 'p50 µs', 'p99 µs', 'throughput', 'vs baseline', 'vs best peer']];
  for (const g of groups.values()) {
    const m = g.m;
    const growth = m.has('rss-growth') ? `, rss +${(m.get('rss-growth')! / 2 ** 20).toFixed(1)} MiB` : '';
    const tp = m.has('throughput')
      ? `${fmt(m.get('throughput'), ' msg/s')}${growth}`
      : [
          m.has('rate') ? fmt(m.get('rate'), ` ${g.rateUnit ?? 'actors/s'}`) : '',
          m.has('heap-per-actor') ? `${m.get('heap-per-actor')} B/actor` : '',
          m.has('time') ? `${m.get('time')} ms` : '',
        ]
          .filter(Boolean)
          .join(', ');
    const raw = g.system === 'raw' ? undefined : groups.get(`${g.scenario}|raw|${g.variant}`)?.m;
    const peer = g.system === 'apiary' ? best(g.scenario, g.variant) : undefined;
    out.push([
      g.scenario,
      g.variant ? `${g.system} (${g.variant})` : g.system,
      fmt(m.get('p50')),
      fmt(m.get('p99')),
      tp,
      ratio(m, raw),
      ratio(m, peer),
    ]);
  }
  const widths = out[0]!.map((_, i) => Math.max(...out.map((r) => r[i]!.length)));
  const lines = out.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  if (notes.length > 0) {
    lines.push('', 'notes:');
    for (const n of notes) lines.push(`  ${n.scenario} / ${n.system}: ${n.note}`);
  }
  return `${lines.join('\n')}\n`;
}
