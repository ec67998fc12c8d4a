/**
 * `apiary tree`'s text rendering of a fixed tree.
 */
import { describe, expect, it } from 'vitest';
import { renderTree, wantsColour } from '../../runtime/cli/inspect.js';
import type { TreeEntry } from '../../supervisor/tree.js';

const entry = (id: string, path: string, extra: Partial<TreeEntry> = {}): TreeEntry => ({
  id,
  path,
  kind: 'worker',
  status: 'running',
  restarts: 0,
  thread: 0,
  node: 'n1',
  mailbox: 0,
  incarnation: 1,
  uptimeMs: 65_000,
  ...extra,
});

describe('renderTree', () => {
  it('draws an indented tree with status, restarts, thread and mailbox', () => {
    const tree = {
      node: 'n1',
      children: [
        entry('app', '/app', {
          kind: 'supervisor',
          children: [
            entry('a', '/app/a', { thread: 1, restarts: 2, mailbox: 7 }),
            entry('inner', '/app/inner', { kind: 'supervisor', children: [entry('b', '/app/inner/b', { status: 'restarting' })] }),
            entry('c', '/app/c', { status: 'stopped' }),
          ],
        }),
        entry('solo', '/solo'),
      ],
    };
    expect(renderTree(tree)).toMatchInlineSnapshot(`
      "node n1
      ├─ app [supervisor] running restarts=0 thread=0 mailbox=0 up=1m05s
      │  ├─ a [worker] running restarts=2 thread=1 mailbox=7 up=1m05s
      │  ├─ inner [supervisor] running restarts=0 thread=0 mailbox=0 up=1m05s
      │  │  └─ b [worker] restarting restarts=0 thread=0 mailbox=0
      │  └─ c [worker] stopped restarts=0 thread=0 mailbox=0
      └─ solo [worker] running restarts=0 thread=0 mailbox=0 up=1m05s
      "
    `);
  });

  it('colours the status on a TTY', () => {
    const out = renderTree({ node: 'n', children: [entry('x', '/x', { status: 'stopped' })] }, true);
    expect(out).toContain('\x1b[31mstopped\x1b[0m');
  });
});

describe('wantsColour', () => {
  it.each([
    [true, {}, true],
    [true, { NO_COLOR: '1' }, false],
    [true, { NO_COLOR: 'anything' }, false],
    [true, { NO_COLOR: '' }, true], // no-color.org: an empty NO_COLOR does not count
    [false, {}, false],
    [undefined, {}, false],
  ])('on a TTY %s with env %j: %s', (isTTY, env, expected) => {
    expect(wantsColour({ isTTY }, env)).toBe(expected);
  });
});
