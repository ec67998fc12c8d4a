/**
 * The other node of the cross-node benchmark: a cluster node on 127.0.0.1 that hosts what
 * the benchmark spawns on it. Prints `READY ws://…`; exits when its stdin closes.
 * Usage: node dist/bench/cross-node-peer.js SECRET
 */
import { ActorSystem } from '../runtime/actor-system.js';

const system = new ActorSystem({
  name: 'bench-peer',
  threads: 0,
  cluster: { listen: { host: '127.0.0.1', port: 0 }, secret: new TextEncoder().encode(process.argv[2] ?? '') },
});
await system.ready();
process.stdout.write(`READY ${system.cluster!.url}\n`);
process.stdin.resume();
process.stdin.on('close', () => void system.stop().then(() => process.exit(0)));
