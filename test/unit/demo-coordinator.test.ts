/**
 * The demo's report coordinator runs one report per timer tick, whatever else it is sent: an
 * admin ask or a `apiary bench --http` ping must not start a second report loop (each one
 * used to schedule another tick, so the pipeline's mailboxes grew without bound).
 */
import { afterEach, expect, it } from 'vitest';
import { Coordinator } from '../../examples/demo-agents.js';
import { testSystem, type TestSystem } from './support.js';

let t: TestSystem | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

it('answers a foreign ask at once and keeps one report per tick', async () => {
  t = testSystem();
  const log: string[] = [];
  const ref = await t.system.spawn(Coordinator, { name: 'coordinator', args: { everyMs: 1000, batchSize: 10, log: (l: string) => log.push(l) } });
  const pings = Array.from({ length: 5 }, () => ref.ask('ping' as never, { timeout: 100 }));
  await t.settle();
  await expect(Promise.all(pings)).resolves.toHaveLength(5);
  expect(log).toEqual([]); // a ping runs no report
  for (let i = 1; i <= 3; i++) {
    t.clock.advance(1000);
    await t.settle();
    // no ingest agent here, so each tick's report is skipped, and logged, exactly once
    expect(log).toHaveLength(i);
    expect(log[i - 1]).toMatch(new RegExp(`report #${i} skipped: ingest is restarting`));
  }
});
