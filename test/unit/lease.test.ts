/**
 * Held leases (runtime/persistence/lease.ts) on a MemoryStore and a manual clock: renewed
 * every third of the TTL, lost — by the holder's own reckoning, before the store would hand
 * the name to another — when a renew is refused or does not get through in time.
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../actors/foundation/clock.js';
import { acquireLease, MemoryStore, waitForLease } from '../../index.js';

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

function setup() {
  const clock = new ManualClock({ start: 1_000_000 });
  const store = new MemoryStore();
  const tick = async (ms: number): Promise<void> => {
    for (let left = ms; left > 0; left -= 10) {
      clock.advance(Math.min(10, left));
      await flush();
    }
  };
  return { clock, store, tick };
}

describe('a held lease', () => {
  it('is renewed every third of its TTL while held, so nobody else takes it however long it runs', async () => {
    const { clock, store, tick } = setup();
    const held = (await acquireLease(store, 'daily-report', { owner: 'n1', clock, ttlMs: 300, data: { where: 'n1/0/4' } }))!;
    expect(held).toBeDefined();
    expect(await acquireLease(store, 'daily-report', { owner: 'n2', clock, ttlMs: 300 })).toBeUndefined();
    await tick(3000);
    expect(held.held).toBe(true);
    expect(await store.leaseHolder('daily-report', clock.wallTime())).toMatchObject({ owner: 'n1', token: held.token, data: { where: 'n1/0/4' } });
    expect(await acquireLease(store, 'daily-report', { owner: 'n2', clock, ttlMs: 300 })).toBeUndefined();
    await held.release();
    expect(held.held).toBe(false);
    const next = (await acquireLease(store, 'daily-report', { owner: 'n2', clock, ttlMs: 300 }))!;
    expect(next.token).toBeGreaterThan(held.token);
    await next.release();
  });

  it('is lost when the store cannot be reached: held turns false before the store would let another owner take it', async () => {
    const { clock, store, tick } = setup();
    const held = (await acquireLease(store, 'l', { owner: 'n1', clock, ttlMs: 300 }))!;
    const expiresAt = (await store.leaseHolder('l', clock.wallTime()))!.expiresAt;
    let lostAt: number | undefined;
    void held.lost.then(() => (lostAt = clock.wallTime()));
    await store.close(); // every renew now rejects ERR_STORE_UNAVAILABLE
    await tick(400);
    expect(held.held).toBe(false);
    expect(lostAt).toBeDefined();
    // lost by the holder's reckoning (acquired + 80 % of the TTL) before the store's expiry
    expect(lostAt!).toBeLessThan(expiresAt);
  });

  it('is lost when a renew is refused (another owner holds it now): lost resolves ERR_LEASE_LOST', async () => {
    const { clock, store, tick } = setup();
    const held = (await acquireLease(store, 'l', { owner: 'n1', clock, ttlMs: 300 }))!;
    // the store hands the name to n2 (as after a pause of n1 longer than the TTL)
    await store.releaseLease('l', 'n1', held.token);
    await store.acquireLease('l', 'n2', 300, clock.wallTime());
    await tick(120);
    await expect(held.lost).resolves.toMatchObject({ code: 'ERR_LEASE_LOST' });
    expect(held.held).toBe(false);
  });

  it('waitForLease takes it once the holder releases it; a bad TTL or name is refused', async () => {
    const { clock, store, tick } = setup();
    const first = (await acquireLease(store, 'job', { owner: 'a', clock, ttlMs: 300 }))!;
    let second: Awaited<ReturnType<typeof waitForLease>> | undefined;
    void waitForLease(store, 'job', { owner: 'b', clock, ttlMs: 300, retryMs: 50 }).then((h) => (second = h));
    await tick(200);
    expect(second).toBeUndefined();
    await first.release();
    await tick(60);
    expect(second?.owner).toBe('b');
    await second!.release();
    await expect(acquireLease(store, 'job', { owner: 'a', clock, ttlMs: 5 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'ttlMs' });
    await expect(acquireLease(store, '', { owner: 'a', clock })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'name' });
  });

  it('waitForLease keeps at most one listener on its abort signal however often it retries, and rejects ERR_ABORTED when aborted', async () => {
    const { clock, store, tick } = setup();

    const holder = (await acquireLease(store, 'busy', { owner: 'a', clock, ttlMs: 300 }))!;
    const abort = new AbortController();
    const waiting = waitForLease(store, 'busy', { owner: 'b', clock, ttlMs: 300, retryMs: 10, signal: abort.signal });
    const outcome = waiting.catch((e: { code?: string }) => e.code);
    await tick(500); // 50 tries
    expect(getEventListeners(abort.signal, 'abort').length).toBeLessThanOrEqual(1);
    abort.abort();
    await flush();
    expect(await outcome).toBe('ERR_ABORTED');
    await holder.release();
  });
});

