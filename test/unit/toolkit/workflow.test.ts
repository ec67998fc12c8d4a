/**
 * Workflows over real in-thread agents on a manual clock: validation at submit, the diamond
 * order, overlapping parallel branches, retry then success, a failure failing only its
 * dependents (or a fallback), cancellation reaching the agent, task-state events.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Actor, fixedRetry, runWorkflow, supervisor, type ActorRef, type TaskSpec, type WorkflowSpec } from '../../../index.js';
import { codeOf, deferred, ofType, testSystem, type Deferred, type TestSystem } from '../support.js';

let t: TestSystem;
afterEach(async () => t?.dispose());

interface Job {
  task: string;
  inputs?: Record<string, unknown>;
  failTimes?: number;
  hold?: boolean;
}

/** An agent that logs start/end, fails a task's first `failTimes` attempts, can hold until released, and notes aborts. */
class Agent extends Actor<Job, string> {
  static log: string[] = [];
  static gate: Deferred<void> | undefined;
  static aborted: string[] = [];
  static attempts = new Map<string, number>();
  async receive(job: Job): Promise<string> {
    const n = (Agent.attempts.get(job.task) ?? 0) + 1;
    Agent.attempts.set(job.task, n);
    Agent.log.push(`start ${job.task}`);
    if (job.hold) {
      const signal = this.context.signal;
      await new Promise<void>((resolve) => {
        signal.addEventListener('abort', () => {
          Agent.aborted.push(job.task);
          resolve();
        });
        void Agent.gate?.promise.then(resolve);
      });
    } else {
      await Promise.resolve();
    }
    Agent.log.push(`end ${job.task}`);
    if (n <= (job.failTimes ?? 0)) throw new Error(`${job.task} failed (attempt ${n})`);
    return `${job.task}(${Object.values(job.inputs ?? {}).join(',')})`;
  }
}

async function setup(agents = 4): Promise<ActorRef<Job, string>[]> {
  t = testSystem();
  Agent.log = [];
  Agent.aborted = [];
  Agent.attempts = new Map();
  Agent.gate = undefined;
  // under a supervisor, so an agent that throws is restarted for the next attempt
  const sup = await t.system.spawn(
    supervisor({ intensity: 100, period: 1000, children: Array.from({ length: agents }, (_, i) => ({ id: `agent${i}`, actor: Agent })) }),
  );
  return (await sup.whichChildren()).map((c) => c.ref as ActorRef<Job, string>);
}

function task(id: string, target: ActorRef<Job, string>, dependsOn: string[] = [], extra: Partial<Job> & Partial<TaskSpec> = {}): TaskSpec {
  const { failTimes, hold, ...spec } = extra;
  return { id, target, dependsOn, message: (inputs: Record<string, unknown>) => ({ task: id, inputs, failTimes, hold }), ...spec };
}

const run = (spec: WorkflowSpec) => runWorkflow(spec, { clock: t.clock, publish: (e) => t.system.publish(e) });

describe('workflow validation at submit', () => {
  it.each([
    ['a cycle', [{ id: 'a', dependsOn: ['c'] }, { id: 'b', dependsOn: ['a'] }, { id: 'c', dependsOn: ['b'] }], 'ERR_WORKFLOW_CYCLE'],
    ['a self-dependency', [{ id: 'a', dependsOn: ['a'] }], 'ERR_WORKFLOW_CYCLE'],
    ['an unknown dependency', [{ id: 'a' }, { id: 'b', dependsOn: ['x'] }], 'ERR_UNKNOWN_DEPENDENCY'],
    ['a duplicate id', [{ id: 'a' }, { id: 'a' }], 'ERR_INVALID_SPEC'],
  ])('rejects %s with a stable code before anything runs', async (_what, graph, code) => {
    const [a] = await setup(1);
    const tasks = graph.map((g) => task(g.id, a!, g.dependsOn ?? []));
    expect(() => run({ tasks })).toThrow(expect.objectContaining({ code }));
    await t.settle();
    expect(Agent.log).toEqual([]);
  });
});

describe('running a workflow', () => {
  it('runs a diamond in dependency order and hands results to dependents', async () => {
    const [a, b, c, d] = await setup(4);
    const wf = run({ name: 'diamond', tasks: [task('d', d!, ['b', 'c']), task('b', b!, ['a']), task('c', c!, ['a']), task('a', a!)] });
    const result = await wf.result;
    expect(result.status).toBe('completed');
    expect(result.tasks.d!.value).toBe('d(b(a()),c(a()))');
    const pos = (s: string) => Agent.log.indexOf(s);
    expect(pos('end a')).toBeLessThan(pos('start b'));
    expect(pos('end a')).toBeLessThan(pos('start c'));
    expect(pos('end b')).toBeLessThan(pos('start d'));
    expect(pos('end c')).toBeLessThan(pos('start d'));
    const states = ofType(t.events, 'task-state').filter((e) => e.task === 'd').map((e) => e.state);
    expect(states).toEqual(['queued', 'running', 'completed']);
  });

  it('runs parallel branches at the same time', async () => {
    const [a, b, c] = await setup(3);
    Agent.gate = deferred();
    const wf = run({ tasks: [task('x', a!, [], { hold: true }), task('y', b!, [], { hold: true }), task('z', c!, ['x', 'y'])] });
    await t.settle();
    expect(Agent.log).toEqual(['start x', 'start y']); // both running before either ended
    expect(wf.states()).toEqual({ x: 'running', y: 'running', z: 'queued' });
    Agent.gate.resolve();
    expect((await wf.result).status).toBe('completed');
  });

  it('retries a failing task per its policy and then succeeds', async () => {
    const [a, b] = await setup(2);
    const wf = run({ tasks: [task('flaky', a!, [], { failTimes: 2, retry: fixedRetry(1000, { maxAttempts: 3 }) }), task('next', b!, ['flaky'])] });
    for (let i = 0; i < 5; i++) {
      await t.settle();
      t.clock.advance(1000);
    }
    const result = await wf.result;
    expect(result.status).toBe('completed');
    expect(result.tasks.flaky!.attempts).toBe(3);
    expect(result.tasks.next!.value).toBe('next(flaky())');
  });

  it('a failed task fails only its dependents; the other branch completes', async () => {
    const [a, b, c, d] = await setup(4);
    const wf = run({ tasks: [task('bad', a!, [], { failTimes: 9 }), task('after-bad', b!, ['bad']), task('good', c!), task('after-good', d!, ['good'])] });
    const result = await wf.result;
    expect(result.status).toBe('failed');
    expect(Object.fromEntries(Object.entries(result.tasks).map(([id, o]) => [id, o.state]))).toEqual({
      bad: 'failed',
      'after-bad': 'failed',
      good: 'completed',
      'after-good': 'completed',
    });
    expect(result.tasks['after-bad']!.error!.code).toBe('ERR_DEPENDENCY_FAILED');
    expect(Agent.log).not.toContain('start after-bad');
  });

  it('a failed task with a fallback completes with the fallback’s answer', async () => {
    const [a, b] = await setup(2);
    const wf = run({ tasks: [task('bad', a!, [], { failTimes: 9, fallback: () => 'cached' }), task('next', b!, ['bad'])] });
    const result = await wf.result;
    expect(result.status).toBe('completed');
    expect(result.tasks.next!.value).toBe('next(cached)');
  });

  it('cancelling aborts in-flight tasks (the agent sees the abort) and never starts queued ones', async () => {
    const [a, b, c] = await setup(3);
    const wf = run({ tasks: [task('long', a!, [], { hold: true }), task('other', b!, [], { hold: true }), task('later', c!, ['long'])] });
    await t.settle();
    wf.cancel();
    const result = await wf.result;
    await t.settle();
    expect(result.status).toBe('cancelled');
    expect(Agent.aborted.sort()).toEqual(['long', 'other']);
    expect(wf.states()).toEqual({ long: 'cancelled', other: 'cancelled', later: 'cancelled' });
    expect(Agent.log).not.toContain('start later');
    expect(result.tasks.long!.error!.code).toBe('ERR_ABORTED');
  });

  it('an ask cancelled before its message starts is skipped by the agent', async () => {
    const [a] = await setup(1);
    Agent.gate = deferred();
    const first = a!.ask({ task: 'first', hold: true }, { timeout: Infinity });
    const ctl = new AbortController();
    const second = a!.ask({ task: 'second' }, { signal: ctl.signal, timeout: Infinity });
    await t.settle();
    ctl.abort();
    expect(await codeOf(second)).toBe('ERR_ABORTED');
    Agent.gate.resolve();
    await first;
    await t.settle();
    expect(Agent.log).toEqual(['start first', 'end first']);
  });
});

describe('a task whose message cannot be built', () => {
  it('fails that task and its dependents, not the process', async () => {
    const [a] = await setup(1);
    const wf = run({
      tasks: [
        task('a', a!),
        { id: 'b', dependsOn: ['a'], target: a!, message: () => { throw new Error('bad input'); } },
        task('c', a!, ['b']),
      ],
    });
    const result = await wf.result;
    expect([result.tasks.a!.state, result.tasks.b!.state, result.tasks.c!.state]).toEqual(['completed', 'failed', 'failed']);
    expect(result.tasks.b!.error!.message).toBe('bad input');
  });
});
