/**
 * The other node of the cross-node benchmark: a cluster node on 127.0.0.1 that hosts what
 * the benchmark spawns on it. Prints `READY ws://…`; exits when its stdin closes.
 * Usage: node dist/bench/cross-node-peer.js SECRET
 */
import { Codec } from '../transport/codec.js';
import { servePeerNode } from './peer-node.js';

// the raw baseline: a bare ws server that echoes text pings and counts msgpack frames in binary batches
const codec = new Codec();
await servePeerNode(process.argv[2] ?? '', (ws) => {
  let count = 0;
  ws.on('message', (data, isBinary) => {
    if (isBinary) count += codec.decodeBatch(data as Buffer).length;
    else ws.send(data.toString() === 'count' ? String(count) : data.toString());
  });
});
