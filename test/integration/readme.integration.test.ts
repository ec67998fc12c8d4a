/**
 * The README's example runs as pasted: the code block equals examples/readme.mjs, and
 * running that file prints what the README says it prints.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('README example', () => {
  it('is the same code as examples/readme.mjs', () => {
    const readme = readFileSync(`${root}README.md`, 'utf8');
    const block = /## Twenty lines\n\n```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBe(readFileSync(`${root}examples/readme.mjs`, 'utf8'));
  });

  it('prints 5, ERR_ACTOR_FAILED, the restart, then 1', () => {
    const out = execFileSync(process.execPath, ['examples/readme.mjs'], { cwd: root, encoding: 'utf8', timeout: 20_000 });
    expect(out.trim().split('\n')).toEqual(['5', 'ERR_ACTOR_FAILED', 'restarted /app/counter', '1']);
  });
});
