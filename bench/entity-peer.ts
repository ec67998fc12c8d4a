/**
 * The other node of the `entity-ask` benchmark: a cluster node on 127.0.0.1 on the LMDB
 * store in DIR (argv[3], shared with the benchmark's node) that hosts the entity type `bench`
 * (16 shards: all of them here, as the benchmark's node hosts none). Prints `READY ws://…`;
 * exits when its stdin closes. Usage: node dist/bench/entity-peer.js SECRET DIR
 */
import { BenchTarget } from './actors.js';
import { ActorSystem } from '../runtime/node/actor-system.js';

const system = new ActorSystem({
  name: 'bench-peer',
  threads: 0,
  store: { kind: 'lmdb', dir: process.argv[3] ?? '' },
  cluster: { listen: { host: '127.0.0.1', port: 0 }, secret: new TextEncoder().encode(process.argv[2] ?? '') },
});
await system.ready();
system.entities.define('bench', BenchTarget, { shards: 16, rebalanceMs: 100 });
process.stdout.write(`READY ${system.cluster!.url}\n`);
process.stdin.resume();
process.stdin.on('close', () => void system.stop().then(() => process.exit(0)));
