/**
 * `topic-fanout`: messages published to a topic whose N subscribers live on another node
 * (two processes, ws on 127.0.0.1), beside the same deliveries made without topics in the same
 * run against the same subscribers: the publisher telling each subscriber itself (variant
 * `direct-tells`: N messages cross the link per message, where a publish sends one and the
 * other node's topics scope fans it out). Rows: `throughput` = deliveries per second (unit
 * `msg/s`), from the first send until every subscriber has counted every message; `time` =
 * ms until this node saw all N subscribers (discover + sync). The two alternate `REPEATS`
 * times; the median is reported.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { ActorRef } from '../actors/actor-ref.js';
import { ActorSystem } from '../runtime/node/actor-system.js';
import { startPeerProcess } from './peer-process.js';
import { round, throughputRow, type BenchRow, type ScenarioResult } from './stats.js';

export interface TopicFanoutOptions {
  /** Subscribers on the other node. */
  subscribers: number;
  /** Messages published per repeat. */
  messages: number;
}

const SCENARIO = 'topic-fanout';
const REPEATS = 3;
const TOPIC = 'bench';
const PEER = fileURLToPath(new URL('./topic-fanout-peer.js', import.meta.url));

/** Resolves once every subscriber has counted `each` messages in all (bounded: 60 s). */
async function delivered(refs: readonly ActorRef[], each: number): Promise<void> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const counts = (await Promise.all(refs.map((r) => r.ask('count', { timeout: 30_000 })))) as number[];
    if (counts.every((c) => c >= each)) return;
    if (performance.now() > deadline) throw new Error(`topic-fanout: deliveries incomplete after 60 s (${counts.reduce((a, b) => a + b, 0)})`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

export async function topicFanout(options: TopicFanoutOptions): Promise<ScenarioResult> {
  const { subscribers, messages } = options;
  const secret = randomBytes(16).toString('hex');
  const peer = await startPeerProcess(PEER, [secret, String(subscribers)], /READY (ws:\/\/\S+)/, 'topic-fanout');
  const system = new ActorSystem({ name: 'bench', threads: 0, cluster: { seeds: [peer.ready[0]!], secret: new TextEncoder().encode(secret) } });
  const rates = { publish: [] as number[], direct: [] as number[] };
  let syncMs = 0;
  try {
    const t0 = performance.now();
    await system.ready();
    for (let i = 0; system.topics.subscribers(TOPIC).length < subscribers; i++) {
      if (i > 3000) throw new Error(`topic-fanout: this node saw ${system.topics.subscribers(TOPIC).length} of ${subscribers} subscribers after 30 s`);
      await new Promise((r) => setTimeout(r, 10));
    }
    syncMs = performance.now() - t0;
    const refs = system.topics.subscribers(TOPIC);
    let each = 0;
    for (let k = 0; k < REPEATS; k++) {
      let s = performance.now();
      for (let i = 0; i < messages; i++) system.topics.publish(TOPIC, { i });
      await delivered(refs, (each += messages));
      rates.publish.push((messages * subscribers) / ((performance.now() - s) / 1000));
      s = performance.now();
      for (let i = 0; i < messages; i++) for (const ref of refs) ref.tell({ i });
      await delivered(refs, (each += messages));
      rates.direct.push((messages * subscribers) / ((performance.now() - s) / 1000));
    }
  } finally {
    await system.stop();
    await peer.stop();
  }
  const publish = median(rates.publish);
  const direct = median(rates.direct);
  const rows: BenchRow[] = [
    throughputRow(SCENARIO, 'apiary', publish),
    throughputRow(SCENARIO, 'apiary', direct, 'direct-tells'),
    { scenario: SCENARIO, system: 'apiary', metric: 'time', value: round(syncMs), unit: 'ms', variant: 'sync' },
  ];
  return {
    rows,
    notes: [
      {
        scenario: SCENARIO,
        system: 'apiary',
        note: `${subscribers} subscribers on another node, ${messages} messages: publish ×${(publish / direct).toFixed(2)} the deliveries/s of telling each subscriber directly; time (sync) = ms from start until this node saw all ${subscribers}`,
      },
    ],
  };
}
