/**
 * `entity-ask`: asks to sharded entities on another node (two processes, ws on 127.0.0.1,
 * one LMDB store directory shared for the shards' leases), beside asks to a plain actor spawned
 * on the same node in the same run (variant `plain`): what routing by type and id costs — the
 * shard's owner looked up (cached), the region's hop, activation on first use. Rows: p50/p99
 * of one ask at a time (over 100 ids, after each was activated once), and `throughput` of
 * asks 100 at a time (msg/s). The two alternate `REPEATS` times; the median is reported.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ActorRef } from '../actors/actor-ref.js';
import { ActorSystem } from '../runtime/node/actor-system.js';
import type { EntityRef } from '../runtime/cluster/entities.js';
import { BenchTarget } from './actors.js';
import { startPeerProcess } from './peer-process.js';
import { Latency, throughputRow, type BenchRow, type ScenarioResult } from './stats.js';

export interface EntityAskOptions {
  /** Asks one at a time per repeat. */
  pings: number;
  /** Asks (100 in flight) per repeat for the throughput. */
  messages: number;
}

const SCENARIO = 'entity-ask';
const REPEATS = 3;
const IDS = 100;
const PEER = fileURLToPath(new URL('./entity-peer.js', import.meta.url));

interface Asker {
  ask(n: number): Promise<unknown>;
}

async function measure(target: (i: number) => Asker, pings: number, messages: number): Promise<{ lat: Latency; rate: number }> {
  const lat = new Latency();
  for (let i = 0; i < pings; i++) {
    const s = performance.now();
    await target(i).ask(i);
    lat.recordMs(performance.now() - s);
  }
  const t0 = performance.now();
  for (let done = 0; done < messages; done += 100) await Promise.all(Array.from({ length: 100 }, (_, k) => target(done + k).ask(k)));
  return { lat, rate: messages / ((performance.now() - t0) / 1000) };
}

export async function entityAsk(options: EntityAskOptions): Promise<ScenarioResult> {
  const secret = randomBytes(16).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'apiary-bench-entities-'));
  const peer = await startPeerProcess(PEER, [secret, dir], /READY (ws:\/\/\S+)/, 'entity-ask');
  const url = peer.ready[0]!;
  const system = new ActorSystem({ name: 'bench', threads: 0, store: { kind: 'lmdb', dir }, cluster: { seeds: [url], secret: new TextEncoder().encode(secret) } });
  const runs = { entity: [] as { lat: Latency; rate: number }[], plain: [] as { lat: Latency; rate: number }[] };
  try {
    await system.ready();
    const entities: EntityRef<number, number>[] = Array.from({ length: IDS }, (_, i) => system.entities.ref<number, number>('bench', `agent-${i}`));
    // every id activated once (the peer owns the shards once it has taken their leases)
    await Promise.all(entities.map((e) => e.ask(0, { timeout: 30_000 })));
    const plain = (await system.spawn(BenchTarget, { node: 'bench-peer' })) as ActorRef<number, number>;
    for (let k = 0; k < REPEATS; k++) {
      runs.entity.push(await measure((i) => entities[i % IDS]!, options.pings, options.messages));
      runs.plain.push(await measure(() => plain, options.pings, options.messages));
    }
  } finally {
    await system.stop();
    await peer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const median = (xs: { lat: Latency; rate: number }[]) => [...xs].sort((a, b) => a.rate - b.rate)[Math.floor(xs.length / 2)]!;
  const rowsOf = (run: { lat: Latency; rate: number }, variant?: string): BenchRow[] => [
    ...run.lat.rows(SCENARIO, 'apiary', variant).filter((r) => r.metric !== 'p999'),
    throughputRow(SCENARIO, 'apiary', run.rate, variant),
  ];
  const entity = median(runs.entity);
  const plain = median(runs.plain);
  return {
    rows: [...rowsOf(entity), ...rowsOf(plain, 'plain')],
    notes: [
      {
        scenario: SCENARIO,
        system: 'apiary',
        note: `${IDS} entities on another node: throughput ×${(entity.rate / plain.rate).toFixed(2)} of asks to one plain actor there (variant plain); p50/p99 per ask, one at a time`,
      },
    ],
  };
}
