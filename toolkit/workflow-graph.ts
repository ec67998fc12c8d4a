/**
 * Workflow graphs: validating a DAG of tasks at submit time.
 *
 * Owns: the checks — task ids unique and non-empty, every dependency known
 * (`ERR_UNKNOWN_DEPENDENCY`), no cycle (`ERR_WORKFLOW_CYCLE`, `field` names a task on it) —
 * and a topological order (Kahn's algorithm, submit order among ready tasks). Pure: no
 * time, no threads.
 */
import { ApiaryError, ErrorCodes } from '../actors/foundation/errors.js';

/** The graph part of a task. */
export interface GraphNode {
  id: string;
  dependsOn?: readonly string[];
}

/**
 * Returns the task ids in an order where every task comes after its dependencies. Throws
 * `ERR_INVALID_SPEC` (bad or duplicate id), `ERR_UNKNOWN_DEPENDENCY` or `ERR_WORKFLOW_CYCLE`,
 * each with `field` (`tasks[i].id`, `tasks[i].dependsOn`, or the id of a task on the cycle).
 */
export function topologicalOrder(tasks: readonly GraphNode[]): string[] {
  if (!Array.isArray(tasks) || tasks.length === 0) throw new ApiaryError(ErrorCodes.INVALID_SPEC, 'a workflow needs at least one task', { field: 'tasks' });
  const index = new Map<string, number>();
  tasks.forEach((t, i) => {
    if (typeof t?.id !== 'string' || t.id.length === 0) throw new ApiaryError(ErrorCodes.INVALID_SPEC, 'a task needs a non-empty id', { field: `tasks[${i}].id` });
    if (index.has(t.id)) throw new ApiaryError(ErrorCodes.INVALID_SPEC, `task id '${t.id}' is used twice`, { field: `tasks[${i}].id` });
    index.set(t.id, i);
  });
  const indegree = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  tasks.forEach((t, i) => {
    const deps = t.dependsOn ?? [];
    for (const d of deps) {
      if (!index.has(d)) throw new ApiaryError(ErrorCodes.UNKNOWN_DEPENDENCY, `task '${t.id}' depends on unknown task '${d}'`, { field: `tasks[${i}].dependsOn` });
      dependents.set(d, [...(dependents.get(d) ?? []), t.id]);
    }
    indegree.set(t.id, new Set(deps).size);
  });
  const ready = tasks.filter((t) => indegree.get(t.id) === 0).map((t) => t.id);
  const order: string[] = [];
  while (ready.length > 0) {
    const id = ready.shift()!;
    order.push(id);
    for (const d of new Set(dependents.get(id) ?? [])) {
      const left = indegree.get(d)! - 1;
      indegree.set(d, left);
      if (left === 0) ready.push(d);
    }
  }
  if (order.length < tasks.length) {
    const stuck = tasks.find((t) => !order.includes(t.id))!;
    throw new ApiaryError(ErrorCodes.WORKFLOW_CYCLE, `the workflow has a cycle through task '${stuck.id}'`, { field: stuck.id });
  }
  return order;
}

/** Every task that depends on `id`, directly or not. */
export function dependentsOf(tasks: readonly GraphNode[], id: string): Set<string> {
  const out = new Set<string>();
  const visit = (x: string): void => {
    for (const t of tasks) if (t.dependsOn?.includes(x) && !out.has(t.id)) {
      out.add(t.id);
      visit(t.id);
    }
  };
  visit(id);
  return out;
}
