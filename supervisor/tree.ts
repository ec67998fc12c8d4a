/**
 * The tree snapshot: the `/tree` JSON (a contract: README, docs/architecture.md), built from the live cells.
 *
 * Owns: the {@link TreeEntry} shape. Entries are plain data; stopped children that keep
 * their spec (terminated, or transient after a normal exit) appear with status `stopped`.
 */
import { ActorCell as ActorCellClass } from '../actors/actor-cell.js';
import type { ChildHandle } from '../actors/child-handle.js';
import { cellStatusForTree } from './child-table.js';
import { Supervisor } from './supervisor.js';

export interface TreeEntry {
  id: string;
  path: string;
  kind: 'supervisor' | 'worker';
  status: 'running' | 'restarting' | 'stopped';
  restarts: number;
  thread: number;
  node: string;
  /** User messages waiting in the mailbox. */
  mailbox: number;
  /** 1 for the first start, +1 per restart (0 when stopped before ever starting). */
  incarnation: number;
  /** ms since the current incarnation started (0 when not running). */
  uptimeMs: number;
  children?: TreeEntry[];
}

export interface TreeSnapshot {
  node: string;
  children: TreeEntry[];
}

function uptimeOf(handle: ChildHandle, now: number): number {
  return handle.status === 'running' ? Math.max(0, Math.round(now - handle.startedAt)) : 0;
}

export function snapshotCell(handle: ChildHandle, id: string, now: number): TreeEntry {
  if (!(handle instanceof ActorCellClass)) {
    return {
      id,
      path: handle.path,
      kind: 'worker',
      status: cellStatusForTree(handle),
      restarts: handle.restarts,
      thread: handle.thread,
      node: handle.node,
      mailbox: handle.mailboxSize,
      incarnation: handle.incarnation,
      uptimeMs: uptimeOf(handle, now),
    };
  }
  const cell = handle;
  const instance = cell.instance;
  const isSupervisor = instance instanceof Supervisor || cell.actorClass === Supervisor;
  const entry: TreeEntry = {
    id,
    path: cell.path,
    kind: isSupervisor ? 'supervisor' : 'worker',
    status: cellStatusForTree(cell),
    restarts: cell.restarts,
    thread: cell.host.thread,
    node: cell.host.node,
    mailbox: cell.mailboxSize,
    incarnation: cell.incarnation,
    uptimeMs: uptimeOf(cell, now),
  };
  if (instance instanceof Supervisor) {
    entry.children = instance.childRecords.map((r) =>
      r.cell !== undefined
        ? snapshotCell(r.cell, r.spec.id, now)
        : {
            id: r.spec.id,
            path: `${cell.path}/${r.spec.id}`,
            kind: r.spec.kind,
            status: 'stopped' as const,
            restarts: r.restarts,
            thread: cell.host.thread,
            node: cell.host.node,
            mailbox: 0,
            incarnation: 0,
            uptimeMs: 0,
          },
    );
  } else if (isSupervisor) {
    entry.children = [];
  } else if (cell.contextChildren !== undefined && cell.contextChildren.size > 0) {
    entry.children = [...cell.contextChildren].map((c) => snapshotCell(c, c.path.slice(c.path.lastIndexOf('/') + 1), now));
  }
  return entry;
}
