/**
 * The codec: what may leave a thread, and how a batch of frames round-trips.
 */
import { describe, expect, it } from 'vitest';
import { assertPlainData, BatchWriter, Codec } from '../../transport/codec.js';

class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}
}

class Agent {
  name = 'a';
  act(): string {
    return this.name;
  }
}

describe('assertPlainData', () => {
  it.each<[string, unknown]>([
    ['a string', 'hello'],
    ['nested plain objects and arrays', { a: [1, { b: 'c', d: null, e: undefined }], f: true }],
    ['a bigint', 12n],
    ['a Date', new Date(0)],
    ['bytes', new Uint8Array([1, 2, 3])],
    ['a Map and a Set', { m: new Map([['k', 1]]), s: new Set([1]) }],
    ['an instance of a class without methods', new Point(1, 2)],
    ['an object without prototype', Object.assign(Object.create(null) as object, { a: 1 })],
  ])('accepts %s', (_what, value) => {
    expect(() => assertPlainData(value)).not.toThrow();
  });

  it.each<[string, unknown, string]>([
    ['a function', { reply: () => 1 }, 'message.reply'],
    ['a symbol deep inside', { a: [0, { b: Symbol('s') }] }, 'message.a[1].b'],
    ['an instance of a class with methods', { agent: new Agent() }, 'message.agent'],
    ['a function in a Map value', new Map([['k', () => 0]]), 'message.k'],
  ])('refuses %s with ERR_UNSERIALIZABLE naming the field', (_what, value, field) => {
    let caught: unknown;
    try {
      assertPlainData(value);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'ERR_UNSERIALIZABLE', field });
  });

  it('refuses nesting deeper than the budget', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 300; i++) deep = { deep };
    expect(() => assertPlainData(deep)).toThrow(expect.objectContaining({ code: 'ERR_UNSERIALIZABLE' }));
  });
});

describe('batches', () => {
  it('encode returns bytes of their own: a later encode does not overwrite them (a socket may write them later)', () => {
    const codec = new Codec();
    const first = codec.encode([12, 7_340_032]);
    const copy = Array.from(first);
    codec.encode([8, 2, { node: 'n1', state: 'up' }]);
    expect(Array.from(first)).toEqual(copy);
    expect(codec.decodeBatch(first)).toEqual([[12, 7_340_032]]);
  });

  it('encodeRetained returns bytes that stay as they were through thousands of later encodes (a store reads them at its commit)', () => {
    const codec = new Codec();
    const kept = Array.from({ length: 2000 }, (_, i) => codec.encodeRetained({ event: { n: i, note: 'x'.repeat(i % 50) }, at: i }));
    kept.forEach((bytes, i) => expect(codec.decode(bytes)).toEqual({ event: { n: i, note: 'x'.repeat(i % 50) }, at: i }));
  });

  it('round-trips frames in order through one buffer', () => {
    const codec = new Codec();
    const batch = new BatchWriter(64);
    const frames = Array.from({ length: 500 }, (_, i) => [0, i, { seq: i, text: 'x'.repeat(i % 7) }, 2, null]);
    for (const f of frames) codec.append(batch, f);
    expect(batch.frames).toBe(500);
    const bytes = batch.take();
    expect(batch.empty).toBe(true);
    expect(codec.decodeBatch(bytes)).toEqual(frames);
  });

  it('refuses a frame over the size cap and leaves the batch as it was', () => {
    const codec = new Codec({ maxMessageBytes: 1024 });
    const batch = new BatchWriter();
    codec.append(batch, [0, 1, 'small', 2, null]);
    expect(() => codec.append(batch, [0, 1, 'y'.repeat(2048), 2, null])).toThrow(expect.objectContaining({ code: 'ERR_MESSAGE_TOO_LARGE' }));
    expect(codec.decodeBatch(batch.take())).toEqual([[0, 1, 'small', 2, null]]);
  });

  it('gives each taken batch a buffer of its own (safe to transfer)', () => {
    const codec = new Codec();
    const batch = new BatchWriter(16);
    codec.append(batch, [1]);
    const first = batch.take();
    codec.append(batch, [2]);
    const second = batch.take();
    expect(first.buffer).not.toBe(second.buffer);
    expect(codec.decodeBatch(first)).toEqual([[1]]);
  });
});

describe('frames from other nodes', () => {
  const codec = new Codec();
  const encode = (frames: unknown[]): Uint8Array => {
    const batch = new BatchWriter();
    for (const f of frames) codec.append(batch, f);
    return batch.take();
  };

  it('decodes frames within budget', () => {
    const frames = [[0, 1, { a: [1, 2, { b: 'c' }] }, 2, null]];
    expect(codec.decodeUntrusted(encode(frames))).toEqual(frames);
  });

  it.each<[string, Uint8Array, { maxBytes: number; maxDepth: number; maxElements: number }]>([
    ['over the size budget', new Uint8Array(2048), { maxBytes: 1024, maxDepth: 64, maxElements: 1000 }],
    ['a truncated value', new Uint8Array([0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]), { maxBytes: 1024, maxDepth: 64, maxElements: 1000 }],
    ['nesting deeper than the budget', new Codec().encode([[[[[[['deep']]]]]]]), { maxBytes: 1024, maxDepth: 4, maxElements: 1000 }],
    ['more values than the budget', new Codec().encode(Array.from({ length: 500 }, (_, i) => i)), { maxBytes: 1 << 20, maxDepth: 64, maxElements: 100 }],
  ])('refuses %s with ERR_MALFORMED_FRAME', (_what, bytes, budget) => {
    expect(() => codec.decodeUntrusted(bytes, budget)).toThrow(expect.objectContaining({ code: 'ERR_MALFORMED_FRAME' }));
  });
});
