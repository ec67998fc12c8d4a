/**
 * Errors as plain data keep their cause, so an ask's failure from another thread or node still
 * says what `receive` threw (actors/foundation/errors.ts, transport/frames.ts errorFrom).
 */
import { describe, expect, it } from 'vitest';
import { ApiaryError, ErrorCodes, serializeError } from '../../actors/foundation/errors.js';
import { errorFrom } from '../../transport/frames.js';

describe('serializeError and errorFrom', () => {
  it('keep the cause chain: name, message, code and stack of each, an ApiaryError staying one', () => {
    const root = Object.assign(new RangeError('root'), { code: 'E_ROOT' });
    const failed = new ApiaryError(ErrorCodes.ACTOR_FAILED, '/a failed handling this message', { cause: new TypeError('mid', { cause: root }) });
    const data = JSON.parse(JSON.stringify(serializeError(failed))); // as plain as it gets on the wire
    expect(data).toMatchObject({ code: 'ERR_ACTOR_FAILED', cause: { name: 'TypeError', message: 'mid', cause: { name: 'RangeError', message: 'root', code: 'E_ROOT' } } });

    const back = errorFrom(data);
    expect(back).toBeInstanceOf(ApiaryError);
    expect((back as ApiaryError).code).toBe('ERR_ACTOR_FAILED');
    const mid = back.cause as Error;
    expect(mid).toBeInstanceOf(Error);
    expect([mid.name, mid.message, mid.stack]).toEqual(['TypeError', 'mid', (failed.cause as Error).stack]);
    expect(mid.cause).toMatchObject({ name: 'RangeError', message: 'root', code: 'E_ROOT' });
  });

  it('stop at 4 causes deep (a chain may be a cycle), and ignore a cause that is not an error’s data', () => {
    const loop = new Error('loop');
    (loop as { cause?: unknown }).cause = loop;
    let depth = 0;
    for (let e: { cause?: unknown } | undefined = serializeError(loop); e !== undefined; e = e.cause as typeof e) depth++;
    expect(depth).toBe(5);
    expect(errorFrom({ name: 'Error', message: 'outer', cause: 'not an error' as never }).cause).toBeUndefined();
    expect(serializeError(new Error('plain'))).not.toHaveProperty('cause');
  });
});
