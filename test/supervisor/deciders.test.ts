/**
 * Per-error deciders (beyond OTP, as Akka's supervisorStrategy deciders):
 * restart | resume | stop | escalate, chosen by the error's code.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Actor, supervisor, type ActorRef, type Decider, type ExitReason } from '../../index.js';
import { harness, ofType, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.dispose());

class Flaky extends Actor<{ type: 'add'; n: number } | { type: 'fail'; code: string } | { type: 'get' }, number> {
  total = 0;
  receive(msg: { type: 'add'; n: number } | { type: 'fail'; code: string } | { type: 'get' }): number {
    if (msg.type === 'fail') throw Object.assign(new Error(`failed with ${msg.code}`), { code: msg.code });
    if (msg.type === 'add') this.total += msg.n;
    return this.total;
  }
}

const byCode: Decider = (reason) => {
  const code = typeof reason === 'object' ? reason.error.code : undefined;
  switch (code) {
    case 'RATE_LIMITED':
      return 'resume';
    case 'BAD_CONFIG':
      return 'stop';
    case 'FATAL':
      return 'escalate';
    default:
      return 'restart';
  }
};

async function setup() {
  h = harness();
  const root = await h.system.spawn(
    supervisor({
      intensity: 5,
      children: [{ id: 'inner', actor: supervisor({ intensity: 5, decider: byCode, children: [{ id: 'w', actor: Flaky }] }) }],
    }),
    { name: 'root' },
  );
  const inner = (await root.whichChildren())[0]!.ref!;
  const w = h.system.at<{ type: string; n?: number; code?: string }, number>('/root/inner/w')!;
  return { root, inner, w: w as ActorRef<any, number> };
}

describe('deciders', () => {
  it('resume keeps the actor state and goes on with the next message', async () => {
    const { w } = await setup();
    w.tell({ type: 'add', n: 5 });
    w.tell({ type: 'fail', code: 'RATE_LIMITED' });
    w.tell({ type: 'add', n: 1 });
    await h.settle();
    expect(await w.ask({ type: 'get' })).toBe(6);
    const d = ofType(h.events, 'supervisor-decision');
    expect(d.map((e) => e.directive)).toEqual(['resume']);
  });

  it('restart (the default) replaces the state', async () => {
    const { w } = await setup();
    w.tell({ type: 'add', n: 5 });
    w.tell({ type: 'fail', code: 'SOMETHING' });
    await h.settle();
    expect(await w.ask({ type: 'get' })).toBe(0);
  });

  it('stop stops the child for good and leaves its spec', async () => {
    const { w } = await setup();
    const exit = h.system.watch(w);
    w.tell({ type: 'fail', code: 'BAD_CONFIG' });
    await h.settle();
    const reason = (await exit) as Exclude<ExitReason, string>;
    expect(reason.error.code).toBe('BAD_CONFIG');
    expect(h.system.tree().children[0]!.children![0]!.children).toMatchObject([{ id: 'w', status: 'stopped' }]);
  });

  it('escalate fails the supervisor with the same reason; its parent restarts it', async () => {
    const { w } = await setup();
    w.tell({ type: 'fail', code: 'FATAL' });
    await h.settle();
    const decisions = ofType(h.events, 'supervisor-decision').map((e) => [e.path, e.directive]);
    expect(decisions).toEqual([
      ['/root/inner', 'escalate'],
      ['/root', 'restart'],
    ]);
    const rootDecision = ofType(h.events, 'supervisor-decision')[1]!;
    expect((rootDecision.reason as Exclude<ExitReason, string>).error.code).toBe('FATAL');
    expect(h.system.tree().children[0]!.children![0]).toMatchObject({ id: 'inner', status: 'running', restarts: 1 });
    // the inner tree started afresh: a new child cell
    const fresh = h.system.at<{ type: 'get' }, number>('/root/inner/w')!;
    expect(fresh.equals(w)).toBe(false);
    expect(await fresh.ask({ type: 'get' })).toBe(0);
  });

  it('a decider that throws escalates', async () => {
    h = harness();
    const sup = await h.system.spawn(
      supervisor({
        decider: () => {
          throw new Error('bad decider');
        },
        children: [{ id: 'w', actor: Flaky }],
      }),
    );
    const exit = h.system.watch(sup);
    h.system.at<any, number>((await sup.whichChildren())[0]!.ref!.path)!.tell({ type: 'fail', code: 'X' });
    await h.settle();
    expect(typeof (await exit)).toBe('object');
  });

  it('the decider is not consulted for a kill: killed children just restart', async () => {
    const { w } = await setup();
    h.system.kill(w);
    await h.settle();
    expect(ofType(h.events, 'supervisor-decision').map((e) => [e.directive, e.reason])).toEqual([['restart', 'killed']]);
  });
});
