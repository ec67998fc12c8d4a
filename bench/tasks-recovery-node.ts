/**
 * The node of the `recovery` scenario (bench/tasks.ts): an ActorSystem (no worker threads)
 * with a task queue on an LMDB directory. `DIR submit N` submits N tasks (durable when each
 * resolves), prints `submitted` and waits to be killed; `DIR consume N` opens the same store,
 * serves the admin API (with /tasks) on a free port and prints `ready HOST:PORT` once it
 * listens (the bench then asks it `GET /tasks`), runs the tasks and prints `first-done`, then `all-done` when N are done.
 */
import { ActorSystem } from '../runtime/node/actor-system.js';
import { startAdminServer } from '../runtime/admin/admin-server.js';
import { openLmdbTaskStore } from '../runtime/tasks/lmdb-task-store.js';
import { createTaskQueue } from '../runtime/tasks/task-queue.js';

const [dir, mode, count] = process.argv.slice(2);
const n = Number(count);
const system = new ActorSystem({ name: 'recovery', threads: 0 });
await system.ready();
let done = 0;
system.events$.subscribe((e) => {
  if (e.type !== 'task' || e.state !== 'done') return;
  if (++done === 1) process.stdout.write('first-done\n');
  if (done === n) process.stdout.write('all-done\n');
});
const tasks = createTaskQueue({ store: await openLmdbTaskStore({ dir: dir! }), system });
if (mode === 'submit') {
  for (let i = 0; i < n; i += 1000) {
    await Promise.all(Array.from({ length: Math.min(1000, n - i) }, (_, j) => tasks.submit({ queue: 'recovery', payload: { i: i + j } })));
  }
  process.stdout.write('submitted\n');
  setInterval(() => undefined, 1000);
} else {
  tasks.consume('recovery', () => 'ok', { concurrency: 1024, pollMs: 5 });
  const admin = await startAdminServer(system, { port: 0, tasks });
  process.stdout.write(`ready ${admin.address}\n`);
  setInterval(() => undefined, 1000);
}
