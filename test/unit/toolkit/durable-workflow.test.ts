/**
 * Durable workflows over real in-thread agents, a MemoryStore and a manual clock. A "crash"
 * is an engine stopped and a new engine made over the same store (the child-process kill -9
 * is test/integration/durable-workflow.integration.test.ts): finished steps are never asked
 * again, timers wait only what is left, signals are kept until a step takes them, a run id
 * is an idempotency key, runs are listable, and a stale coordinator is fenced.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Actor, DurableWorkflows, MemoryStore, type ActorRef, type DurableStep } from '../../../index.js';
import { codeOf, deferred, ofType, testSystem, type Deferred, type TestSystem } from '../support.js';

let t: TestSystem;
const engines: DurableWorkflows[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop();
  await t?.dispose();
});

interface Job {
  step: string;
  inputs?: Record<string, unknown>;
}

/** An agent that counts asks per step and holds a step's first ask (until released or aborted) when told. */
class Agent extends Actor<Job, string> {
  static asks = new Map<string, number>();
  static holdOnce = new Set<string>();
  static gate: Deferred<void> = deferred();
  async receive(job: Job): Promise<string> {
    Agent.asks.set(job.step, (Agent.asks.get(job.step) ?? 0) + 1);
    if (Agent.holdOnce.delete(job.step)) {
      const signal = this.context.signal;
      await new Promise<void>((resolve) => {
        signal.addEventListener('abort', () => resolve());
        void Agent.gate.promise.then(resolve);
      });
    }
    return `${job.step}(${Object.values(job.inputs ?? {}).map(String).join(',')})`;
  }
}

let agent: ActorRef<Job, string>;
let store: MemoryStore;

async function setup(): Promise<void> {
  t = testSystem();
  Agent.asks = new Map();
  Agent.holdOnce = new Set();
  Agent.gate = deferred();
  agent = await t.system.spawn(Agent);
  store = new MemoryStore();
}

/** A new engine (a new coordinator incarnation) over the test's store, with every definition. */
function engine(writer = `coordinator-${engines.length + 1}`): DurableWorkflows {
  const e = new DurableWorkflows({ journal: store, clock: t.clock, publish: (ev) => t.system.publish(ev), writer });
  e.define('chain', (input: { steps: number }) => ({
    tasks: Array.from({ length: input.steps }, (_, i) => ask(`s${i + 1}`, i === 0 ? [] : [`s${i}`])),
  }));
  e.define('nap', (input: { ms: number }) => ({ tasks: [ask('before'), { id: 'nap', dependsOn: ['before'], sleep: input.ms }, ask('after', ['nap'])] }));
  e.define('approval', () => ({ tasks: [ask('draft'), { id: 'approve', dependsOn: ['draft'], waitFor: 'approved' }, ask('publish', ['approve'])] }));
  engines.push(e);
  return e;
}

function ask(id: string, dependsOn: string[] = []): DurableStep {
  return { id, dependsOn, target: agent, message: (inputs: Record<string, unknown>) => ({ step: id, inputs }) };
}

/** Lets actors, the store's promises and the engine run until `cond` holds (no time passes). */
async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await cond()) return;
    await t.settle();
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('condition not reached');
}

const asks = (step: string): number => Agent.asks.get(step) ?? 0;
const stateOf = async (e: DurableWorkflows, runId: string, step: string) => (await e.get(runId)).steps[step]!.state;

describe('a durable workflow killed after step 3 of 5', () => {
  it('resumes at step 4 on a new engine: steps 1–3 are not asked again, their results flow on', async () => {
    await setup();
    Agent.holdOnce.add('s4');
    const first = engine();
    const run = await first.start('chain', { steps: 5 }, { runId: 'order-1' });
    await until(async () => (await stateOf(first, 'order-1', 's4')) === 'running');
    expect([asks('s1'), asks('s2'), asks('s3'), asks('s4')]).toEqual([1, 1, 1, 1]);

    await first.stop(); // the crash: s4 was in flight
    expect(await codeOf(run.result)).toBe('ERR_WORKFLOWS_STOPPED');

    const second = engine();
    expect(await second.resume()).toBe(1);
    const result = await second.handle('order-1')!.result;
    expect(result.status).toBe('completed');
    expect(result.tasks.s5!.value).toBe('s5(s4(s3(s2(s1()))))');
    // finished steps never ran again; the one in flight at the crash ran again (at-least-once)
    expect([asks('s1'), asks('s2'), asks('s3'), asks('s4'), asks('s5')]).toEqual([1, 1, 1, 2, 1]);
    const info = await second.get('order-1');
    expect(info.status).toBe('completed');
    expect(info.steps.s4!.starts).toBe(2);
    expect(info.steps.s3!.starts).toBe(1);
    const runEvents = ofType(t.events, 'workflow-run').map((e) => `${e.state}${e.reason ? ` ${e.reason}` : ''}`);
    expect(runEvents).toEqual(['started', 'suspended ERR_WORKFLOWS_STOPPED', 'resumed', 'completed']);
  });

  it('a finished run is not resumed, and a restarted engine reports its result', async () => {
    await setup();
    const first = engine();
    await (await first.start('chain', { steps: 2 }, { runId: 'done-1' })).result;
    await first.stop();
    const second = engine();
    expect(await second.resume()).toBe(0);
    const again = await second.start('chain', { steps: 2 }, { runId: 'done-1' });
    expect((await again.result).tasks.s2!.value).toBe('s2(s1())');
    expect([asks('s1'), asks('s2')]).toEqual([1, 1]);
  });
});

describe('a durable timer', () => {
  it('survives a restart and waits only the time that was left', async () => {
    await setup();
    const first = engine();
    const startedAt = t.clock.wallTime();
    await first.start('nap', { ms: 10_000 }, { runId: 'nap-1' });
    await until(async () => (await first.get('nap-1')).timers.length === 1);
    expect((await first.get('nap-1')).timers).toEqual([{ step: 'nap', wakeAt: startedAt + 10_000 }]);
    t.clock.advance(4_000);
    await first.stop();

    const second = engine();
    await second.resume();
    const result = second.handle('nap-1')!.result;
    await t.settle();
    t.clock.advance(5_999);
    await until(async () => (await stateOf(second, 'nap-1', 'nap')) === 'running');
    await t.settle();
    expect(asks('after')).toBe(0); // 1 ms left
    t.clock.advance(1);
    const r = await result;
    expect(r.status).toBe('completed');
    expect(r.tasks.nap!.value).toBe(startedAt + 10_000);
    expect([asks('before'), asks('after')]).toEqual([1, 1]);
  });

  it('whose wake-up passed while no engine ran fires at once on resume', async () => {
    await setup();
    const first = engine();
    await first.start('nap', { ms: 60_000 }, { runId: 'nap-2' });
    await until(async () => (await first.get('nap-2')).timers.length === 1);
    await first.stop();
    t.clock.advance(3_600_000); // down for an hour
    const second = engine();
    await second.resume();
    expect((await second.handle('nap-2')!.result).status).toBe('completed');
  });
});

describe('signals', () => {
  it('a step waiting for a signal survives a restart; a signal sent while no engine drives the run is kept', async () => {
    await setup();
    const first = engine();
    await first.start('approval', {}, { runId: 'doc-1' });
    await until(async () => (await stateOf(first, 'doc-1', 'approve')) === 'running');
    await first.stop();

    const second = engine();
    await second.signal('doc-1', 'approved', { by: 'ann' }); // durable in the inbox, nobody drives the run yet
    expect((await second.get('doc-1')).signals).toMatchObject([{ seq: 1, name: 'approved', payload: { by: 'ann' } }]);
    await second.resume();
    const r = await second.handle('doc-1')!.result;
    expect(r.status).toBe('completed');
    expect(r.tasks.approve!.value).toEqual({ by: 'ann' });
    expect(r.tasks.publish!.value).toBe('publish([object Object])');
    expect((await second.get('doc-1')).signals[0]!.consumedBy).toBe('approve');
    expect([asks('draft'), asks('publish')]).toEqual([1, 1]);
  });

  it('a signal sent before the step waits is consumed when it does, once', async () => {
    await setup();
    Agent.holdOnce.add('draft');
    const e = engine();
    const run = await e.start('approval', {}, { runId: 'doc-2' });
    await until(() => asks('draft') === 1);
    await e.signal('doc-2', 'approved', 'yes');
    await e.signal('doc-2', 'approved', 'a second one');
    expect(e.handle('doc-2')!.states().approve).toBe('queued');
    Agent.gate.resolve();
    const r = await run.result;
    expect(r.tasks.approve!.value).toBe('yes');
    const info = await e.get('doc-2');
    expect(info.signals.map((s) => [s.payload, s.consumedBy])).toEqual([
      ['yes', 'approve'],
      ['a second one', undefined],
    ]);
  });

  it('a signal taken but not yet journaled at a crash is taken again after it', async () => {
    await setup();
    const first = engine();
    await first.start('approval', {}, { runId: 'doc-3' });
    await until(async () => (await stateOf(first, 'doc-3', 'approve')) === 'running');
    Agent.holdOnce.add('publish');
    await first.signal('doc-3', 'approved', 'ok');
    await until(() => asks('publish') === 1);
    await first.stop();
    const second = engine();
    await second.resume();
    const r = await second.handle('doc-3')!.result;
    expect(r.tasks.approve!.value).toBe('ok');
    expect(asks('publish')).toBe(2); // in flight at the crash
  });

  it('a signal sent through another engine on the same store is seen by the driving one at its next inbox read', async () => {
    await setup();
    const driving = engine('node-a');
    const run = await driving.start('approval', {}, { runId: 'doc-4' });
    await until(async () => (await stateOf(driving, 'doc-4', 'approve')) === 'running');
    const other = engine('node-b');
    await other.signal('doc-4', 'approved', 'from b');
    await t.settle();
    expect(driving.handle('doc-4')!.states().approve).toBe('running'); // not read yet
    t.clock.advance(1000); // signalPollMs
    expect((await run.result).tasks.approve!.value).toBe('from b');
    expect(other.handle('doc-4')).toBeUndefined(); // signalling took nothing over
  });

  it('refuses signals to an unknown or a finished run with stable codes', async () => {
    await setup();
    const e = engine();
    expect(await codeOf(e.signal('nope', 'approved', 1))).toBe('ERR_WORKFLOW_NOT_FOUND');
    await (await e.start('chain', { steps: 1 }, { runId: 'short' })).result;
    expect(await codeOf(e.signal('short', 'approved', 1))).toBe('ERR_WORKFLOW_FINISHED');
  });
});

describe('starting', () => {
  it('with an existing run id returns that run (concurrently, later, and on another engine)', async () => {
    await setup();
    Agent.holdOnce.add('s1');
    const first = engine();
    const [a, b] = await Promise.all([first.start('chain', { steps: 2 }, { runId: 'idem' }), first.start('chain', { steps: 2 }, { runId: 'idem' })]);
    expect(a).toBe(b);
    expect(await first.start('chain', { steps: 9 }, { runId: 'idem' })).toBe(a); // the first input wins
    expect(await codeOf(first.start('nap', { ms: 1 }, { runId: 'idem' }))).toBe('ERR_INVALID_ARGUMENT');
    Agent.gate.resolve();
    expect((await a.result).status).toBe('completed');
    expect(asks('s1')).toBe(1);
    const second = engine();
    expect((await (await second.start('chain', { steps: 2 }, { runId: 'idem' })).result).tasks.s2!.value).toBe('s2(s1())');
    expect([asks('s1'), asks('s2')]).toEqual([1, 1]);
  });

  it('validates the definition before writing anything, and names an unknown one', async () => {
    await setup();
    const e = engine();
    e.define('loop', () => ({ tasks: [{ id: 'a', dependsOn: ['b'], sleep: 1 }, { id: 'b', dependsOn: ['a'], sleep: 1 }] }));
    e.define('bad-step', () => ({ tasks: [{ id: 'a' } as DurableStep] }));
    expect(await codeOf(e.start('loop', {}))).toBe('ERR_WORKFLOW_CYCLE');
    expect(await codeOf(e.start('bad-step', {}))).toBe('ERR_INVALID_SPEC');
    expect(await codeOf(e.start('missing', {}))).toBe('ERR_WORKFLOW_UNDEFINED');
    expect(await codeOf(e.start('chain', { steps: 1, not: () => 1 }))).toBe('ERR_UNSERIALIZABLE');
    expect(await e.list()).toEqual([]);
  });
});

describe('a resumed run whose journal ends with a failure', () => {
  it('fails the queued dependents of the failed step without asking them, and finishes failed', async () => {
    await setup();
    const { epoch } = await store.claim('workflow/j-1', 'an earlier coordinator');
    const error = { name: 'Error', message: 'no', code: 'E_NO' };
    await store.append('workflow/j-1', epoch, 1, [{ t: 'run', definition: 'chain', input: { steps: 3 } }, { t: 'step', step: 's1', state: 'failed', error, attempts: 1 }], 0);
    const e = engine();
    expect(await e.resume()).toBe(1);
    const r = await e.handle('j-1')!.result;
    expect([r.status, r.tasks.s2!.error!.code, r.tasks.s3!.error!.code]).toEqual(['failed', 'ERR_DEPENDENCY_FAILED', 'ERR_DEPENDENCY_FAILED']);
    expect(asks('s1') + asks('s2') + asks('s3')).toBe(0);
    expect((await e.get('j-1')).steps.s1!.error).toEqual(error);
  });
});

describe('step results', () => {
  it('a result that cannot be journaled fails its step (ERR_UNSERIALIZABLE) and its dependents', async () => {
    await setup();
    const e = engine();
    // a target whose answer is a function (any Askable may be a step's target)
    const odd = { ask: async () => () => 'not data' };
    e.define('odd', () => ({ tasks: [{ id: 'a', target: odd, message: {} }, ask('b', ['a'])] }));
    const r = await (await e.start('odd', {}, { runId: 'odd-1' })).result;
    expect([r.status, r.tasks.a!.state, r.tasks.a!.error!.code, r.tasks.b!.state]).toEqual(['failed', 'failed', 'ERR_UNSERIALIZABLE', 'failed']);
    expect((await e.get('odd-1')).steps.a!.error!.code).toBe('ERR_UNSERIALIZABLE');
    expect(asks('b')).toBe(0);
  });
});

describe('listing and inspecting runs', () => {
  it('lists every run with its status and shows one run’s steps, timers and signals', async () => {
    await setup();
    const e = engine();
    await (await e.start('chain', { steps: 2 }, { runId: 'a-done' })).result;
    await e.start('approval', {}, { runId: 'b-waiting' });
    await until(async () => (await stateOf(e, 'b-waiting', 'approve')) === 'running');
    expect((await e.list()).map((r) => [r.runId, r.definition, r.status, r.active])).toEqual([
      ['a-done', 'chain', 'completed', false],
      ['b-waiting', 'approval', 'running', true],
    ]);
    const info = await e.get('b-waiting');
    expect(Object.fromEntries(Object.entries(info.steps).map(([id, s]) => [id, s.state]))).toEqual({ draft: 'completed', approve: 'running', publish: 'queued' });
    expect(info.steps.draft!.value).toBe('draft()');
    expect(info.signals).toEqual([]);
    expect(await codeOf(e.get('nope'))).toBe('ERR_WORKFLOW_NOT_FOUND');
  });

  it('a cancel is journaled: the run ends cancelled, also when resumed after a crash', async () => {
    await setup();
    const first = engine();
    const run = await first.start('approval', {}, { runId: 'c-1' });
    await until(async () => (await stateOf(first, 'c-1', 'approve')) === 'running');
    await run.cancel();
    expect((await run.result).status).toBe('cancelled');
    expect((await first.get('c-1')).steps.publish!.state).toBe('cancelled');
    expect(await codeOf(first.cancel('c-1'))).toBe('ERR_WORKFLOW_FINISHED');

    // a cancel journaled by an engine that crashed before acting on it
    const second = engine();
    await second.start('approval', {}, { runId: 'c-2' });
    await until(async () => (await stateOf(second, 'c-2', 'approve')) === 'running');
    await second.stop();
    const epoch = (await store.claim('workflow/c-2', 'test')).epoch;
    await store.append('workflow/c-2', epoch, (await store.highestSeq('workflow/c-2')) + 1, [{ t: 'cancel' }], t.clock.wallTime());
    const third = engine();
    await third.resume();
    expect((await third.handle('c-2')!.result).status).toBe('cancelled');
    expect(asks('publish')).toBe(0);

    // cancelling a run nobody drives: journaled first, so the step in flight is not asked again
    Agent.holdOnce.add('draft');
    const drafts = asks('draft');
    await third.start('approval', {}, { runId: 'c-3' });
    await until(() => asks('draft') === drafts + 1);
    await third.stop();
    const fourth = engine();
    await fourth.cancel('c-3');
    expect((await fourth.handle('c-3')!.result).status).toBe('cancelled');
    expect(asks('draft')).toBe(drafts + 1);
    expect((await fourth.get('c-3')).cancelRequested).toBe(true);
    expect(await codeOf(fourth.cancel('c-3'))).toBe('ERR_WORKFLOW_FINISHED');
  });
});

describe('an engine given the system', () => {
  it('takes the system’s clock and events, registers itself there (one per system) and unregisters on stop', async () => {
    await setup();
    expect(() => new DurableWorkflows({ system: t.system })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', field: 'journal' }));
    const e = new DurableWorkflows({ system: t.system, journal: store });
    engines.push(e);
    expect(t.system.workflows).toBe(e);
    expect(() => new DurableWorkflows({ system: t.system, journal: store })).toThrow(expect.objectContaining({ code: 'ERR_NAME_TAKEN' }));
    e.define('one', () => ({ tasks: [ask('only')] }));
    await (await e.start('one', {}, { runId: 'one-1' })).result;
    expect(ofType(t.events, 'workflow-run').map((ev) => ev.state)).toEqual(['started', 'completed']);
    await e.stop();
    expect(t.system.workflows).toBeUndefined();
    expect(await codeOf(e.start('one', {}))).toBe('ERR_WORKFLOWS_STOPPED');
  });
});

describe('fencing', () => {
  it('a stale coordinator’s write is refused and it stops driving the run; the new one finishes it', async () => {
    await setup();
    Agent.holdOnce.add('s1');
    const stale = engine('old');
    const run = await stale.start('chain', { steps: 2 }, { runId: 'f-1' });
    await until(() => asks('s1') === 1);
    const fresh = engine('new');
    expect(await fresh.resume()).toBe(1); // claims the run: a newer epoch
    Agent.gate.resolve(); // the stale coordinator's s1 answers now
    expect(await codeOf(run.result)).toBe('ERR_PERSISTENCE_FENCED');
    expect(stale.handle('f-1')).toBeUndefined();
    const r = await fresh.handle('f-1')!.result;
    expect(r.status).toBe('completed');
    expect([asks('s1'), asks('s2')]).toEqual([2, 1]); // s2 by the new coordinator only
    expect(ofType(t.events, 'workflow-run').filter((e) => e.state === 'suspended').map((e) => e.reason)).toEqual(['ERR_PERSISTENCE_FENCED']);
  });

  it('a run whose definition changed is not resumed: suspended, ERR_WORKFLOW_NONDETERMINISTIC', async () => {
    await setup();
    Agent.holdOnce.add('s2');
    const first = engine();
    await first.start('chain', { steps: 3 }, { runId: 'nd-1' });
    await until(() => asks('s2') === 1);
    await first.stop();
    const second = engine();
    second.define('chain', () => ({ tasks: [ask('x1'), ask('x2', ['x1'])] }));
    expect(await second.resume()).toBe(0);
    expect(ofType(t.events, 'workflow-run').at(-1)).toMatchObject({ runId: 'nd-1', state: 'suspended', reason: 'ERR_WORKFLOW_NONDETERMINISTIC' });
    expect(asks('x1')).toBe(0);
  });
});
