/**
 * The other node of the cross-node benchmark: a cluster node on 127.0.0.1 that hosts what
 * the benchmark spawns on it. Prints `READY ws://…`; exits when its stdin closes.
 * Usage: node dist/bench/cross-node-peer.js SECRET
 */
import { WebSocketServer } from 'ws';
import { ActorSystem } from '../runtime/node/actor-system.js';
import { Codec } from '../transport/codec.js';

const system = new ActorSystem({
  name: 'bench-peer',
  threads: 0,
  cluster: { listen: { host: '127.0.0.1', port: 0 }, secret: new TextEncoder().encode(process.argv[2] ?? '') },
});
await system.ready();
// the raw baseline: a bare ws server that echoes text pings and counts msgpack frames in binary batches
const codec = new Codec();
const raw = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 1024 * 1024 });
await new Promise((r) => raw.once('listening', r));
raw.on('connection', (ws) => {
  let count = 0;
  ws.on('message', (data, isBinary) => {
    if (isBinary) count += codec.decodeBatch(data as Buffer).length;
    else ws.send(data.toString() === 'count' ? String(count) : data.toString());
  });
});
const rawPort = (raw.address() as { port: number }).port;
process.stdout.write(`READY ${system.cluster!.url} ws://127.0.0.1:${rawPort}\n`);
process.stdin.resume();
process.stdin.on('close', () => void system.stop().then(() => (raw.close(), process.exit(0))));
