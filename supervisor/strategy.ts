/**
 * Restart strategies as a pure function: which children a failure takes down with it.
 */
import type { Strategy } from './child-spec.js';

/**
 * Indices (in start order) of the children to stop — in reverse of this order — and then
 * start again — in this order — when child `failed` of `count` children must restart:
 * `one-for-one`/`simple-one-for-one` → just it; `one-for-all` → all;
 * `rest-for-one` → it and every child started after it.
 */
export function restartGroup(strategy: Strategy, count: number, failed: number): number[] {
  switch (strategy) {
    case 'one-for-one':
    case 'simple-one-for-one':
      return [failed];
    case 'one-for-all':
      return range(0, count);
    case 'rest-for-one':
      return range(failed, count);
  }
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) out.push(i);
  return out;
}
