/**
 * The SharedArrayBuffer spin baseline's other side: no MessagePort, no event loop work.
 * Slot 0 carries the ping's sequence number, slot 1 the pong. The worker busy-polls slot 0,
 * parks on it (`Atomics.wait`) after `SPINS` idle polls, answers each new value in slot 1 and
 * ends on a negative one.
 */
import { workerData } from 'node:worker_threads';

const SPINS = 1_000_000;
const slots = new Int32Array(workerData as SharedArrayBuffer);
let last = 0;
for (;;) {
  let v = Atomics.load(slots, 0);
  let spins = 0;
  while (v === last) {
    if (++spins > SPINS) {
      Atomics.wait(slots, 0, last);
      spins = 0;
    }
    v = Atomics.load(slots, 0);
  }
  if (v < 0) break;
  last = v;
  Atomics.store(slots, 1, v);
}
