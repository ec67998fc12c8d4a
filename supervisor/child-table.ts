/**
 * The child table of one supervisor: its child records in start order, the id index, and
 * what `whichChildren()` / `countChildren()` report of them (OTP's `which_children/1`,
 * `count_children/1`).
 *
 * Owns: record bookkeeping only (ids unique, removal, lookup by id or ref). Does not own:
 * starting, stopping or restarting children, nor their timers (the supervisor does).
 */
import type { ActorRef } from '../actors/actor-ref.js';
import type { ChildHandle } from '../actors/child-handle.js';
import type { TimerHandle } from '../actors/foundation/clock.js';
import { ApiaryError, ErrorCodes } from '../actors/foundation/errors.js';
import type { NormalizedChildSpec } from './child-spec.js';

/** One child as `whichChildren()` reports it (OTP's `which_children/1`). */
export interface ChildInfo {
  id: string;
  /** Undefined while the child is terminated (not running and not restarting). */
  ref: ActorRef | undefined;
  kind: 'supervisor' | 'worker';
  status: 'running' | 'restarting' | 'stopped';
  restarts: number;
}

/**
 * OTP's `count_children/1`. For `simple-one-for-one`, as OTP counts it: `specs` is 1 (the
 * template), `supervisors`/`workers` count every dynamic child (by the template's kind).
 */
export interface ChildCounts {
  /** Child specs held (dead or alive); 1 for `simple-one-for-one` (its template). */
  specs: number;
  /** Children running now (not terminated, not waiting to be restarted). */
  active: number;
  supervisors: number;
  workers: number;
}

/** @internal */
export interface ChildRecord {
  spec: NormalizedChildSpec;
  cell: ChildHandle | undefined;
  restarts: number;
  attempt: number;
  timer: TimerHandle | undefined;
  generation: number;
  /** Set once the record left the child list. */
  removed: boolean;
}

/** @internal */
export class ChildTable {
  /** In start order. */
  readonly records: ChildRecord[] = [];
  /** id → record, built on the first lookup by id (static children are validated up front). */
  private index: Map<string, ChildRecord> | undefined;
  /** Set once the static children are up; later additions check ids against the index. */
  sealed = false;

  /** `owner` names the supervisor in errors. */
  constructor(private readonly owner: () => string) {}

  get size(): number {
    return this.records.length;
  }

  /** Appends a record for `spec`. Throws `ERR_DUPLICATE_CHILD_ID` for an id already present. */
  add(spec: NormalizedChildSpec): ChildRecord {
    if (this.index !== undefined || this.sealed) {
      if (this.byId().has(spec.id)) {
        throw new ApiaryError(ErrorCodes.DUPLICATE_CHILD_ID, `duplicate child id '${spec.id}'`, { field: 'id' });
      }
    }
    const rec: ChildRecord = { spec, cell: undefined, restarts: 0, attempt: 0, timer: undefined, generation: 0, removed: false };
    this.records.push(rec);
    this.index?.set(spec.id, rec);
    return rec;
  }

  /** Takes `rec` out of the table (once). */
  remove(rec: ChildRecord): void {
    if (rec.removed) return;
    // from the end: shutdown removes last-started children first
    const i = this.records.lastIndexOf(rec);
    if (i >= 0) this.records.splice(i, 1);
    rec.removed = true;
    if (this.index?.get(rec.spec.id) === rec) this.index.delete(rec.spec.id);
  }

  /** The record of child `id` (or of the child running as `id`). Throws `ERR_NO_SUCH_CHILD`. */
  find(id: string | ActorRef): ChildRecord {
    if (typeof id === 'string') {
      const rec = this.byId().get(id);
      if (rec) return rec;
    } else {
      for (const r of this.records) if (r.cell !== undefined && r.cell.ref.equals(id)) return r;
    }
    throw new ApiaryError(ErrorCodes.NO_SUCH_CHILD, `no child ${typeof id === 'string' ? `'${id}'` : id.path} under ${this.owner()}`, {
      field: 'id',
    });
  }

  which(): ChildInfo[] {
    return this.records.map(childInfo);
  }

  /**
   * What `countChildren()` reports. `template`: the kind of a `simple-one-for-one`
   * supervisor's template — `specs` is then 1, as in OTP, however many children run.
   */
  counts(template?: 'supervisor' | 'worker'): ChildCounts {
    let active = 0;
    let supervisors = 0;
    for (const r of this.records) {
      if (isActive(r)) active++;
      if (r.spec.kind === 'supervisor') supervisors++;
    }
    const n = this.records.length;
    return { specs: template === undefined ? n : 1, active, supervisors, workers: n - supervisors };
  }

  private byId(): Map<string, ChildRecord> {
    if (this.index === undefined) {
      this.index = new Map();
      for (const r of this.records) this.index.set(r.spec.id, r);
    }
    return this.index;
  }
}

/** Running now: OTP counts a live pid; a child waiting to be restarted has none. */
function isActive(r: ChildRecord): boolean {
  const status = r.cell?.status;
  return status !== undefined && status !== 'dead' && status !== 'restarting';
}

function childInfo(r: ChildRecord): ChildInfo {
  const cell = r.cell;
  const status = cell === undefined || cell.status === 'dead' ? 'stopped' : cellStatusForTree(cell);
  return { id: r.spec.id, ref: status === 'stopped' ? undefined : cell?.ref, kind: r.spec.kind, status, restarts: r.restarts };
}

/** Collapses a cell's lifecycle state into the three statuses of the tree contract. */
export function cellStatusForTree(cell: ChildHandle): 'running' | 'restarting' | 'stopped' {
  switch (cell.status) {
    case 'dead':
      return 'stopped';
    case 'suspended':
    case 'restarting':
      return 'restarting';
    default:
      return 'running';
  }
}
