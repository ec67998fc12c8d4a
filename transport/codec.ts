/**
 * The codec: every message that leaves a thread is msgpack, and this is the only file
 * that imports msgpackr.
 *
 * Owns: encoding frames into one private buffer per batch (copied once out of msgpackr's
 * scratch buffer, so it can be transferred), decoding batches, the ActorRef extension (a ref
 * travels as its address and is rebuilt by the decoding codec's resolver), and the
 * sender-side checks: functions, symbols and instances of classes with methods fail with
 * `ERR_UNSERIALIZABLE`; a message larger than the cap fails with `ERR_MESSAGE_TOO_LARGE`.
 * Record structures (`records: 'sequential'`, for links between threads of one node): each
 * object shape is defined inline the first time an encoder sends it and referred to by a
 * small id afterwards; the decoder at the other end of the same ordered link learns them in
 * the same order. One codec per link end, so structures never leak between links. An encode
 * that fails or is refused may have taught the encoder shapes the decoder never saw, so the
 * encoder then starts over (every shape is defined again at its next use) — a decoder never
 * meets an id it was not told about (docs/architecture.md § Facts). Links to other nodes use no records: their
 * frames are untrusted, and msgpackr compiles a reader for each record shape.
 * Threads: one codec per link end, used on its thread only.
 */
import { addExtension, Packr, RESET_BUFFER_MODE, Unpackr } from 'msgpackr';
import { ActorRef } from '../actors/actor-ref.js';
import type { Address } from '../actors/address.js';
import { ApiaryError, ErrorCodes } from '../actors/foundation/errors.js';

/** Rebuilds a ref from its address on the decoding side (the host routes it). */
export type RefResolver = (address: Address, path: string) => ActorRef;

/**
 * The resolver of the codec that is decoding right now: set for the length of one
 * synchronous decode call, so msgpackr's process-wide extension can rebuild refs for the
 * right host (two systems in one process each have their own).
 */
let decodingWith: RefResolver | undefined;

/** Rewrites the address a ref is sent with (see {@link CodecOptions.sendAddress}). */
export type AddressMapper = (address: Address) => Address;

/** The address mapper of the codec that is encoding right now (set for one synchronous pack, like `decodingWith`). */
let encodingWith: AddressMapper | undefined;

const REF_EXTENSION = 0x41;

addExtension({
  Class: ActorRef,
  type: REF_EXTENSION,
  write(ref: ActorRef) {
    const a = encodingWith === undefined ? ref.address : encodingWith(ref.address);
    return [a.node, a.incarnation, a.thread, a.id, ref.path];
  },
  read(data: [string, number, number, number, string]) {
    if (!Array.isArray(data) || data.length !== 5) throw new ApiaryError(ErrorCodes.MALFORMED_FRAME, 'a ref must be [node, incarnation, thread, id, path]');
    const [node, incarnation, thread, id, path] = data;
    if (typeof node !== 'string' || typeof path !== 'string' || !Number.isInteger(incarnation) || !Number.isInteger(thread) || !Number.isInteger(id)) {
      throw new ApiaryError(ErrorCodes.MALFORMED_FRAME, 'a ref must be [node, incarnation, thread, id, path]');
    }
    const address: Address = { node, incarnation, thread, id };
    if (!decodingWith) throw new ApiaryError(ErrorCodes.UNSERIALIZABLE, 'this codec cannot rebuild refs (no resolver)');
    return decodingWith(address, path);
  },
});

export interface CodecOptions {
  /** Largest encoded message accepted, bytes. Default 16 MiB. */
  maxMessageBytes?: number;
  /** How refs in decoded frames are rebuilt; without one, a frame holding a ref fails to decode. */
  resolveRef?: RefResolver;
  /**
   * The address each ref is sent with, given its own (default: unchanged). The cluster's
   * codec sends this node's refs under the node's current member incarnation, which changes
   * when the node rejoins after being downed (runtime/cluster/cluster.ts).
   */
  sendAddress?: AddressMapper;
  /**
   * `sequential`: record structures learnt in order along one link (fast; trusted links only).
   * `none` (default): every object carries its keys (frames from other nodes, one-off values).
   */
  records?: 'sequential' | 'none';
}

/** Limits on what a frame from another node may hold. */
export interface DecodeBudget {
  maxBytes: number;
  maxDepth: number;
  /** Values (array items, object fields, map entries) in one frame. */
  maxElements: number;
}

/** The budget of a batch from another node (docs/architecture.md § Security defaults): 1 MiB, depth 64, 100k values. */
export const UNTRUSTED_BUDGET: DecodeBudget = { maxBytes: 1024 * 1024, maxDepth: 64, maxElements: 100_000 };

function withinBudget(v: unknown, depth: number, budget: DecodeBudget, count: { n: number }): void {
  if (++count.n > budget.maxElements) throw new ApiaryError(ErrorCodes.MALFORMED_FRAME, `frame holds more than ${budget.maxElements} values`);
  if (typeof v !== 'object' || v === null) return;
  if (depth >= budget.maxDepth) throw new ApiaryError(ErrorCodes.MALFORMED_FRAME, `frame nests deeper than ${budget.maxDepth}`);
  if (Array.isArray(v)) {
    for (const x of v) withinBudget(x, depth + 1, budget, count);
  } else if (v instanceof Map) {
    for (const [k, x] of v) {
      withinBudget(k, depth + 1, budget, count);
      withinBudget(x, depth + 1, budget, count);
    }
  } else if (v instanceof Set) {
    for (const x of v) withinBudget(x, depth + 1, budget, count);
  } else if (!ArrayBuffer.isView(v) && !(v instanceof Date) && !(v instanceof ActorRef)) {
    for (const k in v) withinBudget((v as Record<string, unknown>)[k], depth + 1, budget, count);
  }
}

export const CODEC_DEFAULTS = {
  maxMessageBytes: 16 * 1024 * 1024,
  /** Deeper nesting than this is refused at the sender. */
  maxDepth: 256,
} as const;

export class Codec {
  private packr: Packr;
  private readonly unpackr: Unpackr;
  /** Links with records: the control lane's encoder, without records (made on first use). */
  private plainPackr: Packr | undefined;
  private readonly sequential: boolean;
  private readonly resolveRef: RefResolver | undefined;
  private readonly sendAddress: AddressMapper | undefined;
  readonly maxMessageBytes: number;

  constructor(options: CodecOptions = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? CODEC_DEFAULTS.maxMessageBytes;
    this.resolveRef = options.resolveRef;
    this.sendAddress = options.sendAddress;
    this.sequential = options.records === 'sequential';
    this.packr = this.newPackr();
    this.unpackr = this.sequential
      ? new Unpackr({ sequential: true, moreTypes: true, structuredClone: false, mapsAsObjects: true })
      : new Unpackr({ useRecords: false, moreTypes: true, structuredClone: false, mapsAsObjects: true });
  }

  private newPackr(): Packr {
    return this.sequential
      ? new Packr({ sequential: true, moreTypes: true, structuredClone: false, bundleStrings: false })
      : new Packr({ useRecords: false, moreTypes: true, structuredClone: false, bundleStrings: false });
  }

  /**
   * Encodes `value` into a fresh buffer of its own (safe to transfer). Throws
   * `ERR_UNSERIALIZABLE` or `ERR_MESSAGE_TOO_LARGE`.
   */
  encode(value: unknown): Uint8Array {
    // a copy: msgpackr returns a Buffer, whose slice() is a view of the scratch buffer the next pack overwrites
    return new Uint8Array(this.packChecked(value));
  }

  /**
   * Encodes `value` into memory that stays valid until dropped — for a caller that keeps the
   * bytes a while (a store reads them at its commit) — cheaper than {@link encode}: small
   * results share one pooled ArrayBuffer, so never transfer the result or its `buffer`.
   * Throws `ERR_UNSERIALIZABLE` or `ERR_MESSAGE_TOO_LARGE`.
   */
  encodeRetained(value: unknown): Buffer {
    return Buffer.from(this.packChecked(value));
  }

  /**
   * Packs into msgpackr's scratch buffer and checks the size cap. The bytes are valid until the
   * next pack (`RESET_BUFFER_MODE`: every pack reuses the same region, so msgpackr does not
   * allocate a fresh 8 KiB buffer every few messages); callers copy them out at once.
   * A failed or refused pack makes a sequential encoder start over (see the header).
   */
  private packChecked(value: unknown, packr = this.packr): Uint8Array {
    let packed: Uint8Array;
    const outer = encodingWith;
    encodingWith = this.sendAddress;
    try {
      packed = packr.pack(value, RESET_BUFFER_MODE);
    } catch (err) {
      if (this.sequential && packr === this.packr) this.packr = this.newPackr();
      throw new ApiaryError(ErrorCodes.UNSERIALIZABLE, `cannot encode message: ${(err as Error).message}`, { cause: err });
    } finally {
      encodingWith = outer;
    }
    if (packed.byteLength > this.maxMessageBytes) {
      if (this.sequential && packr === this.packr) this.packr = this.newPackr();
      throw new ApiaryError(ErrorCodes.MESSAGE_TOO_LARGE, `message of ${packed.byteLength} bytes exceeds ${this.maxMessageBytes}`);
    }
    return packed;
  }

  decode(buffer: Uint8Array): unknown {
    const outer = decodingWith;
    decodingWith = this.resolveRef;
    try {
      return this.unpackr.unpack(buffer);
    } finally {
      decodingWith = outer;
    }
  }

  /** Decodes a batch written by {@link BatchWriter} (frames from {@link append} and {@link appendControl} alike): the frames in order. */
  decodeBatch(buffer: Uint8Array): unknown[] {
    const outer = decodingWith;
    decodingWith = this.resolveRef;
    try {
      return this.unpackr.unpackMultiple(buffer) as unknown[];
    } finally {
      decodingWith = outer;
    }
  }

  /**
   * Decodes a batch from an untrusted peer (another node): throws `ERR_MALFORMED_FRAME` if
   * it is over `maxBytes`, does not decode, or holds more than `maxElements` values or
   * nesting deeper than `maxDepth`. The caller closes that link, never the node.
   */
  decodeUntrusted(buffer: Uint8Array, budget: DecodeBudget = UNTRUSTED_BUDGET): unknown[] {
    if (buffer.byteLength > budget.maxBytes) {
      throw new ApiaryError(ErrorCodes.MALFORMED_FRAME, `frame of ${buffer.byteLength} bytes exceeds ${budget.maxBytes}`);
    }
    let frames: unknown[];
    try {
      frames = this.decodeBatch(buffer);
    } catch (err) {
      throw new ApiaryError(ErrorCodes.MALFORMED_FRAME, `frame does not decode: ${(err as Error).message}`, { cause: err });
    }
    const count = { n: 0 };
    for (const f of frames) withinBudget(f, 0, budget, count);
    return frames;
  }

  /**
   * Appends one encoded frame to `batch`. Throws `ERR_UNSERIALIZABLE` or
   * `ERR_MESSAGE_TOO_LARGE` (and appends nothing) if the frame cannot go.
   */
  append(batch: BatchWriter, frame: unknown): void {
    batch.write(this.packChecked(frame));
  }

  /**
   * Appends one frame to a control-lane batch: frames that may overtake batches sent before
   * them. On a link with record structures they are encoded without records (the records
   * they would refer to may be defined in a batch still waiting); the decoder at the other
   * end reads them as any other frame (plain msgpack is valid where records are). Elsewhere
   * it is {@link append}. Throws like {@link append}.
   */
  appendControl(batch: BatchWriter, frame: unknown): void {
    if (!this.sequential) return this.append(batch, frame);
    batch.write(this.packChecked(frame, (this.plainPackr ??= new Packr({ useRecords: false, moreTypes: true, structuredClone: false, bundleStrings: false }))));
  }
}

/** Batches up to this size are copied out rather than handing over the writer's buffer. */
const SMALL_BATCH_BYTES = 1024;

/**
 * A batch of frames being written: one private buffer, grown by doubling, handed over
 * whole (`take`) so it can be transferred rather than copied.
 */
export class BatchWriter {
  private buf: Uint8Array;
  private length = 0;
  frames = 0;

  constructor(private readonly initial = 16 * 1024) {
    this.buf = new Uint8Array(initial);
  }

  write(bytes: Uint8Array): void {
    const need = this.length + bytes.byteLength;
    if (need > this.buf.byteLength) {
      let size = this.buf.byteLength * 2;
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    this.buf.set(bytes, this.length);
    this.length = need;
    this.frames++;
  }

  get empty(): boolean {
    return this.frames === 0;
  }

  /** Bytes written since the last `take`. */
  get bytes(): number {
    return this.length;
  }

  /**
   * The written bytes, in a buffer nobody else holds (safe to transfer). A small batch is
   * copied out and the writer keeps its buffer; a large one is handed over whole and the
   * writer starts a fresh buffer.
   */
  take(): Uint8Array {
    let out: Uint8Array;
    if (this.length <= SMALL_BATCH_BYTES) {
      out = this.buf.slice(0, this.length);
    } else {
      out = this.buf.subarray(0, this.length);
      this.buf = new Uint8Array(this.initial);
    }
    this.length = 0;
    this.frames = 0;
    return out;
  }
}

/**
 * Throws `ERR_UNSERIALIZABLE` (with `field` = the path to the bad value) unless `value` is
 * plain data msgpack can carry: primitives, bigint, arrays, plain objects, Map, Set, Date,
 * typed arrays, ArrayBuffer, Error, ActorRef, and instances of classes without methods.
 * Symbol-keyed properties are not carried. (Fast path: no allocation for valid data; the
 * path to a bad value is worked out only when there is one.)
 */
export function assertPlainData(value: unknown, path = 'message'): void {
  if (!isPlain(value, 0)) throw explain(value, path, 0) ?? unserializable(path, 'not plain data');
}

const plainClass = new WeakMap<object, boolean>();

function isPlainInstance(proto: object): boolean {
  let known = plainClass.get(proto);
  if (known === undefined) {
    known = !hasMethods(proto);
    plainClass.set(proto, known);
  }
  return known;
}

function isPlain(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'undefined':
    case 'bigint':
      return true;
    case 'object':
      break;
    default:
      return false;
  }
  if (v === null) return true;
  if (depth > CODEC_DEFAULTS.maxDepth) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!isPlain(v[i], depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(v) as object | null;
  if (proto === Object.prototype || proto === null) {
    for (const k in v) if (!isPlain((v as Record<string, unknown>)[k], depth + 1)) return false;
    return true;
  }
  if (v instanceof ActorRef || v instanceof Date || ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof Error) return true;
  if (v instanceof Map) {
    for (const [k, x] of v) if (!isPlain(k, depth + 1) || !isPlain(x, depth + 1)) return false;
    return true;
  }
  if (v instanceof Set) {
    for (const x of v) if (!isPlain(x, depth + 1)) return false;
    return true;
  }
  if (!isPlainInstance(proto)) return false;
  for (const k of Object.keys(v)) if (!isPlain((v as Record<string, unknown>)[k], depth + 1)) return false;
  return true;
}

/** The slow walk: finds the first bad value and names its path. */
function explain(v: unknown, path: string, depth: number): ApiaryError | undefined {
  if (typeof v === 'function') return unserializable(path, 'a function');
  if (typeof v === 'symbol') return unserializable(path, 'a symbol');
  if (typeof v !== 'object' || v === null || isPlain(v, depth)) return undefined;
  if (depth > CODEC_DEFAULTS.maxDepth) return unserializable(path, `nested deeper than ${CODEC_DEFAULTS.maxDepth}`);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const e = explain(v[i], `${path}[${i}]`, depth + 1);
      if (e) return e;
    }
    return undefined;
  }
  if (v instanceof Map) {
    for (const [k, x] of v) {
      const e = explain(k, `${path}.<key>`, depth + 1) ?? explain(x, `${path}.${String(k)}`, depth + 1);
      if (e) return e;
    }
    return undefined;
  }
  if (v instanceof Set) {
    for (const x of v) {
      const e = explain(x, `${path}.<item>`, depth + 1);
      if (e) return e;
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(v) as object | null;
  if (proto !== Object.prototype && proto !== null && !isPlainInstance(proto)) {
    return unserializable(path, `an instance of ${(proto as { constructor?: { name?: string } }).constructor?.name ?? 'a class'} with methods`);
  }
  for (const k of Object.keys(v)) {
    const e = explain((v as Record<string, unknown>)[k], `${path}.${k}`, depth + 1);
    if (e) return e;
  }
  return undefined;
}

function hasMethods(proto: object): boolean {
  for (let p: object | null = proto; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const key of Object.getOwnPropertyNames(p)) {
      if (key === 'constructor') continue;
      const d = Object.getOwnPropertyDescriptor(p, key);
      if (d && (typeof d.value === 'function' || d.get || d.set)) return true;
    }
  }
  return false;
}

function unserializable(path: string, what: string): ApiaryError {
  return new ApiaryError(ErrorCodes.UNSERIALIZABLE, `${path} is ${what}; only plain data can leave a thread`, { field: path });
}
