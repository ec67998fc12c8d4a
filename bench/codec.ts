/**
 * `codec`: encode + decode of a typical agent message (~1 KiB nested object: a tool call
 * with arguments, a short history and metadata) as it crosses a link, beside `raw`, V8's
 * JSON.stringify + JSON.parse (what a runtime without a binary codec would do).
 * - `apiary`: a thread link — the plain-data check, the frame appended to a batch by one
 *   link end's codec and the batch decoded by the other end's (msgpackr with record
 *   structures learnt along the link, transport/codec.ts);
 * - variant `node`: a node link — no record structures, decoded within the untrusted budget.
 * Rows: one round (encode + decode) per message, as msg/s; the p50/p99 are per-message round times.
 */
import { BatchWriter, Codec, assertPlainData } from '../transport/codec.js';
import { Latency, throughput, throughputRow, type BenchRow, type ScenarioResult } from './stats.js';

export interface CodecOptions {
  /** Messages per tinybench iteration (and latency samples). */
  iterations: number;
}

/** A typical message between agents, ~1 KiB encoded. */
export function agentMessage(i: number): unknown {
  return {
    type: 'tool-call',
    id: `call-${i}`,
    from: { node: 'apiary', thread: 1, id: 42, path: '/swarm/analysts/a-7' },
    tool: 'search_sales',
    arguments: { region: 'emea', quarter: 'Q3', limit: 50, filters: [{ field: 'amount', op: '>', value: 1000 }, { field: 'status', op: '=', value: 'closed' }] },
    history: [
      { role: 'system', content: 'You are a data analyst. Answer with a JSON table of regional totals.' },
      { role: 'user', content: 'Which regions grew fastest in Q3 compared with Q2, and why?' },
      { role: 'assistant', content: 'I will query the sales database for both quarters and compare the totals per region.' },
    ],
    usage: { promptTokens: 412, completionTokens: 96, costUsd: 0.0031 },
    scores: [0.91, 0.42, 0.77, 0.13, 0.66, 0.58, 0.99, 0.05],
    tags: ['sales', 'quarterly', 'emea', 'priority:high'],
    context: 'Q2 totals came from the nightly export; EMEA includes the two acquisitions closed in July. Treat refunds as negative amounts and ignore test accounts (ids below 1000).',
    deadlineMs: 30_000,
    attempt: 1,
  };
}

/** One message across a link: checked, appended to a batch by one end, the batch decoded by the other. */
function linkRound(records: 'sequential' | 'none'): (m: unknown) => unknown {
  const sender = new Codec({ records });
  const receiver = new Codec({ records });
  const batch = new BatchWriter(4096);
  return (m) => {
    assertPlainData(m);
    sender.append(batch, m);
    const bytes = batch.take();
    return records === 'none' ? receiver.decodeUntrusted(bytes)[0] : receiver.decodeBatch(bytes)[0];
  };
}

export async function codec(options: CodecOptions): Promise<ScenarioResult> {
  const msgs = Array.from({ length: 64 }, (_, i) => agentMessage(i));
  const bytes = new Codec().encode(msgs[0]).byteLength;
  const recordBytes = (() => {
    const c = new Codec({ records: 'sequential' });
    c.encode(msgs[0]);
    return c.encode(msgs[1]).byteLength;
  })();
  const systems: [string, string | undefined, (m: unknown) => unknown][] = [
    ['raw', undefined, (m) => JSON.parse(JSON.stringify(m))],
    ['apiary', undefined, linkRound('sequential')],
    ['apiary', 'node', linkRound('none')],
  ];
  const rows: BenchRow[] = [];
  for (const [system, variant, round] of systems) {
    const n = options.iterations;
    const rate = await throughput(`codec ${system}${variant ? ` ${variant}` : ''}`, n, 5, async () => {
      for (let i = 0; i < n; i++) round(msgs[i & 63]);
    });
    const lat = new Latency();
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      round(msgs[i & 63]);
      lat.recordMs(performance.now() - t0);
    }
    rows.push(...lat.rows('codec', system, variant), throughputRow('codec', system, rate, variant));
  }
  return {
    rows,
    notes: [
      {
        scenario: 'codec',
        system: 'apiary',
        note: `message is ${bytes} bytes as msgpack (${recordBytes} once its record structures are known on the link); raw = JSON.stringify + JSON.parse`,
      },
    ],
  };
}
