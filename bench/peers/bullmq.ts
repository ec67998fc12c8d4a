/**
 * BullMQ (https://docs.bullmq.io) as the `tasks` peer: the Redis job queue users would pick
 * instead of apiary's task queue, on the same redis-server in the same run. N jobs are added
 * in slices of 500 per turn (at most `inFlight` not completed), one Worker (concurrency 1024,
 * a processor that returns at once) completes them; the rate is N ÷ (first add → last
 * completion), and each job's latency is its add call → the worker's `completed` event (both
 * in this process). Loaded when run, not on import: it may not be installed (load.ts).
 */
import { loadPeer } from './load.js';
import type { Latency } from '../stats.js';
import { SubmitLoad } from '../submit-load.js';

interface BullJob {
  id?: string;
}
interface BullQueue {
  add(name: string, data: unknown, opts?: Record<string, unknown>): Promise<BullJob>;
  obliterate(opts?: { force?: boolean }): Promise<void>;
  close(): Promise<void>;
}
interface BullWorker {
  on(event: 'completed', listener: (job: BullJob) => void): void;
  waitUntilReady(): Promise<unknown>;
  close(): Promise<void>;
}
interface BullMQ {
  Queue: new (name: string, opts: Record<string, unknown>) => BullQueue;
  Worker: new (name: string, processor: (job: BullJob) => Promise<unknown>, opts: Record<string, unknown>) => BullWorker;
}

/** Adds `n` jobs and waits until the worker completed them all: the rate and each job's latency. */
export async function bullmqSubmitToDone(redisUrl: string, n: number, inFlight: number): Promise<{ rate: number; latency: Latency }> {
  const { Queue, Worker } = loadPeer<BullMQ>('bullmq');
  const { hostname, port } = new URL(redisUrl);
  const connection = { host: hostname, port: Number(port), maxRetriesPerRequest: null };
  const name = `bench-${process.pid}`;
  const queue = new Queue(name, { connection, defaultJobOptions: { removeOnComplete: true, removeOnFail: true } });
  const load = new SubmitLoad(n, inFlight);
  const worker = new Worker(name, async () => 'ok', { connection, concurrency: 1024 });
  worker.on('completed', (job) => load.completed(job.id));
  await worker.waitUntilReady();
  const rate = await load.run(async (i) => (await queue.add('task', { i })).id);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return { rate, latency: load.latency };
}
