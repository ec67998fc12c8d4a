/**
 * The node of the `recovery` scenario (bench/tasks.ts), on an LMDB directory:
 * `DIR submit N` submits N tasks (durable when each resolves), prints `submitted` and waits to
 * be killed; `DIR consume N` opens the same store, prints `ready` once it answers (a count of
 * its tasks), runs the tasks and prints `all-done` when N are done.
 */
import { RealClock } from '../actors/foundation/clock.js';
import type { SystemEvent } from '../actors/events.js';
import { openLmdbTaskStore } from '../runtime/tasks/lmdb-task-store.js';
import { createTaskQueue } from '../runtime/tasks/task-queue.js';

const [dir, mode, count] = process.argv.slice(2);
const n = Number(count);
const clock = new RealClock();
let done = 0;
const publish = (e: SystemEvent) => {
  if (e.type === 'task' && e.state === 'done' && ++done === n) process.stdout.write('all-done\n');
};
const tasks = createTaskQueue({ store: await openLmdbTaskStore({ dir: dir! }), clock, system: { clock, publish } });
if (mode === 'submit') {
  for (let i = 0; i < n; i += 1000) {
    await Promise.all(Array.from({ length: Math.min(1000, n - i) }, (_, j) => tasks.submit({ queue: 'recovery', payload: { i: i + j } })));
  }
  process.stdout.write('submitted\n');
  setInterval(() => undefined, 1000);
} else {
  await tasks.counts('recovery');
  process.stdout.write('ready\n');
  tasks.consume('recovery', () => 'ok', { concurrency: 1024, pollMs: 5 });
  setInterval(() => undefined, 1000);
}
