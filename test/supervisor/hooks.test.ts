/**
 * Which lifecycle hook runs when an actor stops itself under a supervisor: the
 * supervisor's decision picks it (`beforeRestart` for a restart, `stopping` for a stop).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Actor, supervisor, type RestartType } from '../../index.js';
import { harness, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.dispose());

const log: string[] = [];

class SelfStopper extends Actor<'quit' | 'incarnation', number | undefined> {
  receive(msg: 'quit' | 'incarnation'): number | undefined {
    if (msg === 'quit') this.context.stop();
    return this.context.incarnation;
  }
  override stopping(reason: unknown): void {
    log.push(`stopping:${String(reason)}`);
  }
  override beforeRestart(reason: unknown): void {
    log.push(`beforeRestart:${String(reason)}`);
  }
}

describe('hooks after context.stop()', () => {
  it.each<[RestartType, string[], boolean]>([
    ['permanent', ['beforeRestart:normal'], true],
    ['transient', ['stopping:normal'], false],
  ])('a %s child that stops itself gets %j', async (restart, hooks, restarted) => {
    h = harness();
    log.length = 0;
    const sup = await h.system.spawn(supervisor({ intensity: 5, children: [{ id: 'w', actor: SelfStopper, restart }] }));
    const w = (await sup.whichChildren())[0]!.ref!;
    w.tell('quit');
    await h.settle();
    expect(log).toEqual(hooks);
    expect((await sup.whichChildren())[0]!.status).toBe(restarted ? 'running' : 'stopped');
  });

  it('an actor without a supervisor that stops itself runs stopping once', async () => {
    h = harness();
    log.length = 0;
    const ref = await h.system.spawn(SelfStopper);
    ref.tell('quit');
    await h.settle();
    expect(log).toEqual(['stopping:normal']);
    expect(await h.system.watch(ref)).toBe('normal');
  });
});
