/**
 * system.tree(): the `/tree` JSON of DESIGN §4 for every entry.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ActorSystem, ManualClock, supervisor, type TreeEntry } from '../../index.js';
import { child, harness, Probe, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.dispose());

describe('tree snapshot', () => {
  it('has the documented shape, with status, restarts, mailbox depth, thread and node for every entry', async () => {
    h = harness();
    const sup = await h.system.spawn(
      supervisor({
        intensity: 5,
        children: [child('a'), { id: 'inner', actor: supervisor({ children: [child('b')] }) }, child('t', { restart: 'transient' })],
      }),
      { name: 'app' },
    );
    await h.system.spawn(Probe, { name: 'loner' });
    const a = h.system.at('/app/a')!;
    h.system.kill(a);
    await h.settle();
    (h.system.at('/app/t')! as typeof a).tell({ type: 'exit', reason: 'normal' } as never);
    await h.settle();
    await sup.countChildren();

    const tree = h.system.tree();
    expect(tree.node).toBe('test');
    const check = (e: TreeEntry) => {
      expect(Object.keys(e).sort()).toEqual(
        ['id', 'path', 'kind', 'status', 'restarts', 'thread', 'node', 'mailbox', 'incarnation', 'uptimeMs', ...(e.children ? ['children'] : [])].sort(),
      );
      expect(['supervisor', 'worker']).toContain(e.kind);
      expect(['running', 'restarting', 'stopped']).toContain(e.status);
      expect(e.thread).toBe(0);
      expect(e.node).toBe('test');
      e.children?.forEach(check);
    };
    tree.children.forEach(check);
    const summary = (e: TreeEntry): unknown => [e.path, e.kind, e.status, e.restarts, ...(e.children ? [e.children.map(summary)] : [])];
    expect(tree.children.map(summary)).toEqual([
      [
        '/app',
        'supervisor',
        'running',
        0,
        [
          ['/app/a', 'worker', 'running', 1],
          ['/app/inner', 'supervisor', 'running', 0, [['/app/inner/b', 'worker', 'running', 0]]],
          ['/app/t', 'worker', 'stopped', 0],
        ],
      ],
      ['/loner', 'worker', 'running', 0],
    ]);
  });

  it('lists top-level actors in spawn order; an actor that stopped leaves, children stay under their parent', async () => {
    h = harness();
    const first = await h.system.spawn(Probe, { name: 'first' });
    await h.system.spawn(supervisor({ children: [child('a'), child('b')] }), { name: 'sup' });
    const unnamed = await h.system.spawn(Probe);
    await h.system.spawn(Probe, { name: 'last' });
    expect(h.system.tree().children.map((e) => e.path)).toEqual(['/first', '/sup', unnamed.path, '/last']);
    await h.system.stopActor(first);
    expect(h.system.tree().children.map((e) => e.path)).toEqual(['/sup', unnamed.path, '/last']);
    expect(h.system.tree().children[0]!.children!.map((e) => e.path)).toEqual(['/sup/a', '/sup/b']);
  });

  it("leaves the runtime's own actors out of the tree (a system with worker threads has a watcher actor)", async () => {
    // never made ready: no worker thread starts, but the watcher actor exists
    const system = new ActorSystem({ name: 'test', clock: new ManualClock(), threads: 1 });
    try {
      await system.spawn(Probe, { name: 'mine' });
      expect(system.tree().children.map((e) => e.path)).toEqual(['/mine']);
    } finally {
      await system.stop();
    }
  });

  it('reports the mailbox depth of a busy actor', async () => {
    h = harness();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { Actor } = await import('../../index.js');
    class Slow extends Actor<string, void> {
      async receive(): Promise<void> {
        await gate;
      }
    }
    const slow = await h.system.spawn(Slow, { name: 'slow' });
    for (let i = 0; i < 4; i++) slow.tell('work');
    await h.settle();
    expect(h.system.tree().children[0]!.mailbox).toBe(3); // one in flight, three waiting
    release();
    await h.settle();
    expect(h.system.tree().children[0]!.mailbox).toBe(0);
  });
});
