/**
 * The low-latency mode's building blocks on one thread: the SharedArrayBuffer ring (records,
 * wrap-around, full, markers, doorbell flags) and two lanes joined by a real MessageChannel
 * (handshake, batches too big or too many for the ring go over the port, in order).
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Host } from '../../actors/host.js';
import { RealClock } from '../../actors/foundation/clock.js';
import { capacityOf, createRingBuffer, ringCapacity, ringEnds } from '../../transport/spin-ring.js';
import { threadSpinner } from '../../transport/spinner.js';
import { LowLatencyLane, type LaneOwner } from '../../transport/low-latency-lane.js';

/** `n` bytes counting up from `seed`, so a misplaced byte shows. */
function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed + i) & 0xff;
  return b;
}

function pair(bytes = 1024) {
  const sab = createRingBuffer(bytes);
  return { a: ringEnds(sab, true), b: ringEnds(sab, false) };
}

describe('SpinRing', () => {
  it('rounds a ring to a power of two of at least 1 KiB per direction', () => {
    expect(ringCapacity(1)).toBe(1024);
    expect(ringCapacity(5000)).toBe(8192);
    expect(capacityOf(createRingBuffer(64 * 1024))).toBe(64 * 1024);
  });

  it('hands batches over in order, each a private copy, across many wrap-arounds', () => {
    const { a, b } = pair(1024);
    let next = 0;
    for (let round = 0; round < 1000; round++) {
      const sizes = [1, 3, 17, 250, 511].slice(0, 1 + (round % 5));
      for (const [k, n] of sizes.entries()) expect(a.out.tryWrite(pattern(n, round + k))).toBe(true);
      for (const [k, n] of sizes.entries()) {
        const got = b.in.read();
        expect(got).toBeInstanceOf(Uint8Array);
        expect((got as Uint8Array).buffer).not.toBeInstanceOf(SharedArrayBuffer);
        expect(got).toEqual(pattern(n, round + k));
        next++;
      }
      expect(b.in.read()).toBeUndefined();
    }
    expect(next).toBeGreaterThan(2500);
  });

  it('keeps the two directions apart', () => {
    const { a, b } = pair();
    a.out.tryWrite(pattern(10, 1));
    b.out.tryWrite(pattern(20, 2));
    expect(a.in.read()).toEqual(pattern(20, 2));
    expect(b.in.read()).toEqual(pattern(10, 1));
  });

  it('refuses a batch that does not fit (nothing written), and takes it once the consumer made room', () => {
    const { a, b } = pair(1024);
    expect(a.out.tryWrite(pattern(1021, 0))).toBe(false); // 4-byte header + 1021 > 1024
    expect(b.in.hasData()).toBe(false);
    expect(a.out.tryWrite(pattern(600, 1))).toBe(true);
    expect(a.out.tryWrite(pattern(600, 2))).toBe(false);
    expect(b.in.read()).toEqual(pattern(600, 1));
    expect(a.out.tryWrite(pattern(600, 2))).toBe(true);
    expect(b.in.read()).toEqual(pattern(600, 2));
  });

  it('carries markers in place: the count of batches that went over the port', () => {
    const { a, b } = pair();
    a.out.tryWrite(pattern(5, 0));
    a.out.tryWriteMarker(1);
    a.out.tryWrite(pattern(5, 1));
    a.out.tryWriteMarker(3);
    expect([b.in.read(), b.in.read(), b.in.read(), b.in.read(), b.in.read()]).toEqual([pattern(5, 0), 1, pattern(5, 1), 3, undefined]);
  });

  it('always leaves room for a marker behind a batch, and a full ring grows the unread last marker instead', () => {
    const { a, b } = pair(1024);
    expect(a.out.tryWrite(pattern(1017, 0))).toBe(false); // 4 + 1020 + 4 > 1024
    expect(a.out.tryWrite(pattern(1016, 0))).toBe(true);
    expect(a.out.used).toBe(1020);
    expect(a.out.tryWriteMarker(1)).toBe(true);
    expect(a.out.used).toBe(1024); // full to the last byte
    expect(a.out.tryWriteMarker(1)).toBe(true);
    expect(a.out.tryWriteMarker(2)).toBe(true);
    expect(a.out.used).toBe(1024);
    expect(b.in.read()).toEqual(pattern(1016, 0));
    expect(b.in.read()).toBe(4);
    expect(b.in.read()).toBeUndefined();
  });

  it('never grows a marker the consumer has taken: the next one is a new record', () => {
    const { a, b } = pair();
    a.out.tryWriteMarker(1);
    expect(b.in.read()).toBe(1);
    a.out.tryWriteMarker(1);
    expect(b.in.read()).toBe(1);
    expect(b.in.read()).toBeUndefined();
  });

  it('asks for one doorbell while the consumer is parked, none while it polls', () => {
    const { a, b } = pair();
    a.out.tryWrite(pattern(1, 0));
    expect(a.out.needsDoorbell()).toBe(true);
    expect(a.out.needsDoorbell()).toBe(false); // one is on its way already
    b.in.clearBell();
    expect(a.out.needsDoorbell()).toBe(true);
    b.in.clearBell();
    b.in.setAwake(true);
    expect(a.out.needsDoorbell()).toBe(false);
    b.in.setAwake(false);
    expect(a.out.needsDoorbell()).toBe(true);
  });
});

/** A lane end on its own host (thread index `thread`), collecting what it receives. */
function end(thread: number, port: MessagePort, ringBytes: number) {
  const host = new Host({ node: 'n', incarnation: 1, thread, clock: new RealClock() });
  const spinner = threadSpinner(host.dispatcher, { lowLatency: { ringBytes, spinMicros: 0 } }, () => {})!;
  const got: Uint8Array[] = [];
  const owner: LaneOwner = { thread, peer: 1 - thread, receiveBatch: (data) => void got.push(data), failed: () => {} };
  const lane = new LowLatencyLane(owner, port, spinner, spinner.ringBytes);
  port.on('message', (d: unknown) => lane.onPortMessage(d));
  return { lane, got };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`not within ${ms} ms`);
    await turn();
  }
}

function seqOf(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset).getUint32(0);
}

/** Batch `i` of `n` bytes (≥ 4): its sequence number first. */
function numbered(i: number, n: number): Uint8Array {
  const b = pattern(n, i);
  new DataView(b.buffer).setUint32(0, i);
  return b;
}

describe('LowLatencyLane over a real MessageChannel', () => {
  function lanes(ringBytes = 1024): { a: ReturnType<typeof end>; b: ReturnType<typeof end>; close: () => void } {
    const ch = new MessageChannel();
    const a = end(0, ch.port1, ringBytes);
    const b = end(1, ch.port2, ringBytes);
    return {
      a,
      b,
      close: () => {
        a.lane.close();
        b.lane.close();
        ch.port1.close();
      },
    };
  }

  it('sends both ways after the handshake, through the ring, in order', async () => {
    const { a, b, close } = lanes();
    try {
      for (let i = 0; i < 100; i++) a.lane.send(numbered(i, 8));
      for (let i = 0; i < 100; i++) b.lane.send(numbered(i, 8)); // before b has even seen the ring
      await until(() => a.got.length === 100 && b.got.length === 100);
      expect(b.got.map(seqOf)).toEqual([...Array(100).keys()]);
      expect(a.got.map(seqOf)).toEqual([...Array(100).keys()]);
      for (let i = 100; i < 200; i++) b.lane.send(numbered(i, 8));
      await until(() => a.got.length === 200);
      expect(a.got.map(seqOf)).toEqual([...Array(200).keys()]);
      // 100 × (4 + 8) bytes overflow a 1 KiB ring that nobody drained meanwhile: the rest took the port
      expect(a.lane.stats.ringBatches).toBeGreaterThan(80);
      expect(a.lane.stats.ringBatches + a.lane.stats.portBatches).toBe(100);
      // b's first 100 predate its ring (plain port messages, not counted); the next 100 used it
      expect(b.lane.stats.ringBatches).toBeGreaterThan(80);
      expect(b.lane.stats.ringBatches + b.lane.stats.portBatches).toBe(100);
    } finally {
      close();
    }
  });

  it('batches too big for the ring go over the port, and keep their place among the small ones', async () => {
    const { a, b, close } = lanes(1024);
    try {
      const sizes = Array.from({ length: 300 }, (_, i) => (i % 7 === 3 ? 5000 : 4 + (i % 50)));
      sizes.forEach((n, i) => a.lane.send(numbered(i, n)));
      await until(() => b.got.length === sizes.length);
      expect(b.got.map(seqOf)).toEqual([...sizes.keys()]);
      expect(b.got.map((x) => x.byteLength)).toEqual(sizes);
      expect(a.lane.stats.portBatches).toBeGreaterThanOrEqual(sizes.filter((n) => n > 1024).length);
      expect(a.lane.stats.ringBatches).toBeGreaterThan(0);
    } finally {
      close();
    }
  });

  it('a full ring (the consumer has not run) sends over the port, one growing marker keeping their place; nothing lost or reordered', async () => {
    const { a, b, close } = lanes(1024);
    try {
      // b never gets a turn during this loop: the ring fills, then even markers do not fit
      for (let i = 0; i < 2000; i++) a.lane.send(numbered(i, 100));
      expect(a.lane.stats.portBatches).toBeGreaterThan(1900);
      await until(() => b.got.length === 2000);
      expect(b.got.map(seqOf)).toEqual([...Array(2000).keys()]);
      // and the ring is usable again afterwards
      const before = a.lane.stats.ringBatches;
      a.lane.send(numbered(2000, 8));
      await until(() => b.got.length === 2001);
      expect(a.lane.stats.ringBatches).toBe(before + 1);
    } finally {
      close();
    }
  });

  it('a closed lane reads nothing more', async () => {
    const { a, b, close } = lanes();
    try {
      a.lane.send(numbered(0, 8));
      await until(() => b.got.length === 1);
      b.lane.close();
      a.lane.send(numbered(1, 8));
      for (let i = 0; i < 10; i++) await turn();
      expect(b.got.length).toBe(1);
      expect(b.lane.drain(false)).toBe(false);
    } finally {
      close();
    }
  });
});
