/**
 * Task priority: the pure class pick, and the priority queue actor in front of a real agent
 * under a sustained flood of urgent work.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Actor, PriorityQueueActor, TOOLKIT_DEFAULTS, type TaskClass } from '../../../index.js';
import { minimumShare, pickClass } from '../../../internals.js';
import { testSystem, type TestSystem } from '../support.js';

let t: TestSystem;
afterEach(async () => t?.dispose());

class Agent extends Actor<{ priority: TaskClass; n: number }, string> {
  static order: TaskClass[] = [];
  async receive(msg: { priority: TaskClass }): Promise<string> {
    Agent.order.push(msg.priority);
    await Promise.resolve();
    return msg.priority;
  }
}

describe('pickClass', () => {
  it('serves classes in proportion to their weights and skips empty ones', () => {
    let currents = [0, 0, 0, 0];
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 1500; i++) {
      const p = pickClass(currents, [8, 4, 2, 1], [true, true, true, true])!;
      currents = p.currents;
      counts[p.index]!++;
    }
    expect(counts).toEqual([800, 400, 200, 100]);
    expect(pickClass([0, 0, 0, 0], [8, 4, 2, 1], [false, false, false, true])!.index).toBe(3);
    expect(pickClass([0, 0, 0, 0], [8, 4, 2, 1], [false, false, false, false])).toBeUndefined();
  });

  it('documents low’s minimum share as 1/15 with the default weights', () => {
    expect(minimumShare(TOOLKIT_DEFAULTS.priority.weights, 'low')).toBeCloseTo(1 / 15);
  });
});

describe('the priority queue actor', () => {
  it('under a sustained flood of critical and high work, low still gets at least its minimum share', async () => {
    t = testSystem();
    Agent.order = [];
    const agent = await t.system.spawn(Agent);
    const queue = await t.system.spawn(PriorityQueueActor, { args: { target: agent, concurrency: 2 } });
    const asks: Promise<unknown>[] = [];
    // far more urgent work than the agent can run, arriving all the time, with some low among it
    for (let i = 0; i < 1000; i++) {
      const priority: TaskClass = i % 5 === 4 ? 'low' : i % 2 ? 'critical' : 'high';
      asks.push(queue.ask({ priority, n: i }, { timeout: Infinity }));
    }
    await t.settle();
    const firstHalf = Agent.order.slice(0, 500);
    const low = firstHalf.filter((c) => c === 'low').length;
    // critical 8 + high 4 + low 1 have work: low's share is 1/13 here, never below 1/15
    expect(low / firstHalf.length).toBeGreaterThanOrEqual(1 / 15);
    expect(firstHalf.filter((c) => c === 'critical').length).toBeGreaterThan(low * 4);
    await Promise.all(asks);
    expect(Agent.order.length).toBe(1000);
  });
});
