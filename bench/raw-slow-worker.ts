/**
 * The `backpressure` scenario's raw baseline, consumer side (cross-thread): a bare worker
 * with no apiary runtime that pulls messages from the producer's bounded queue — it asks
 * for `PULL` more (`{ pull }`) whenever fewer than half of that wait here — and takes 1 ms
 * per message. `'count'` answers how many it handled.
 */
import { parentPort } from 'node:worker_threads';

export const PULL = 1000;

const port = parentPort!;
const waiting: unknown[] = [];
let head = 0;
let count = 0;
let asked = false;

function pull(): void {
  if (!asked && waiting.length - head < PULL / 2) {
    asked = true;
    port.postMessage({ pull: PULL });
  }
}

port.on('message', (data: unknown) => {
  if (data === 'count') return port.postMessage({ count });
  for (const m of data as unknown[]) waiting.push(m);
  asked = false;
  pull();
});

async function consume(): Promise<void> {
  for (;;) {
    if (head < waiting.length) {
      waiting[head++] = undefined;
      count++;
      if (head > 4096 && head * 2 > waiting.length) waiting.splice(0, head), (head = 0);
    }
    pull();
    await new Promise((r) => setTimeout(r, 1));
  }
}
void consume();
