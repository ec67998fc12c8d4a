/**
 * The baseline's other side: a bare worker with no apiary runtime. It echoes ping messages
 * and counts the frames of msgpack batches, acknowledging every batch that says so.
 */
import { parentPort } from 'node:worker_threads';
import { Codec } from '../transport/codec.js';

const codec = new Codec();
let count = 0;
parentPort!.on('message', (data: unknown) => {
  if (typeof data === 'number') {
    parentPort!.postMessage(data); // ping-pong
    return;
  }
  if (data === 'count') {
    parentPort!.postMessage(count);
    return;
  }
  const frames = codec.decodeBatch(data as Uint8Array);
  count += frames.length;
});
