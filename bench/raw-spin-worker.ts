/**
 * The SharedArrayBuffer ring baseline's other side (`cross-thread-ping-pong`, `raw (spin)`):
 * no runtime, no MessagePort, no event loop. It busy-polls its inbound ring; for each record
 * it copies the bytes out into a private buffer (SpinRing.read), decodes the msgpack batch,
 * encodes the answer frame `[REPLY, ask id, value]` into a fresh batch (BatchWriter.take
 * copies it out of msgpackr's scratch buffer, as a thread link does) and copies that into
 * the outbound ring. It polls until terminated.
 */
import { workerData } from 'node:worker_threads';
import { BatchWriter, Codec } from '../transport/codec.js';
import { REPLY } from '../transport/frames.js';
import { ringEnds } from '../transport/spin-ring.js';

const { in: inbound, out } = ringEnds(workerData as SharedArrayBuffer, false);
const codec = new Codec();
const batch = new BatchWriter(4096);
for (;;) {
  while (!inbound.hasData());
  const record = inbound.read();
  if (typeof record !== 'object') throw new Error('raw spin: the baseline never writes markers');
  for (const frame of codec.decodeBatch(record) as [number, number, unknown, number, null, number][]) {
    codec.append(batch, [REPLY, frame[5], frame[2]]);
  }
  if (!out.tryWrite(batch.take())) throw new Error('raw spin: ring full');
}
