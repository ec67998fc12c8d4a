/**
 * The other node of the `topic-fanout` benchmark: a cluster node on 127.0.0.1 whose own
 * `BenchTarget`s (N of them, argv[3]) are subscribed to the topic `bench`. Prints `READY ws://…`;
 * exits when its stdin closes. Usage: node dist/bench/topic-fanout-peer.js SECRET N
 */
import { BenchTarget } from './actors.js';
import { servePeerNode } from './peer-node.js';

const subscribers = Number(process.argv[3] ?? 100);
await servePeerNode(process.argv[2] ?? '', (ws) => ws.close(), async (system) => {
  for (let i = 0; i < subscribers; i++) system.topics.subscribe('bench', await system.spawn(BenchTarget));
});
