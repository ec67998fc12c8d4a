/**
 * Alert rules stepped on a manual clock, and the webhook channel against a real local server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_RULES, ManualClock, webhookChannel, type AlertNotice, type AlertRule, type MetricsSnapshot } from '../../index.js';
import { AlertEngine } from '../../internals.js';

const snap = (at: number, over: Partial<MetricsSnapshot> = {}): MetricsSnapshot => ({
  node: 'n1',
  at,
  messagesProcessed: 0,
  mailboxDepth: 0,
  actorsRunning: 1,
  actorsRestarting: 0,
  actorsStopped: 0,
  restarts: 0,
  escalations: 0,
  deadLetters: 0,
  threadRestarts: 0,
  healthLevel: 0,
  threads: 2,
  ...over,
});

const backlog: AlertRule = { name: 'Backlog', metric: 'mailboxDepth', op: '>', threshold: 100, forMs: 3000, severity: 'warning', cooldownMs: 10_000 };

describe('AlertEngine', () => {
  it('fires after the condition held `for`, once per cooldown, then resolves', () => {
    const clock = new ManualClock();
    const sent: AlertNotice[] = [];
    const engine = new AlertEngine([backlog], [{ send: (n) => void sent.push(n) }], clock);
    const states: string[] = [];
    for (let s = 0; s <= 30; s++) {
      const depth = s >= 2 && s <= 25 ? 500 : 0; // a backlog from 2 s to 25 s
      for (const n of engine.evaluate(snap(clock.now(), { mailboxDepth: depth }))) states.push(`${s}:${n.state}`);
      clock.advance(1000);
    }
    // pending 2–4 s, fires at 5 s, again after each 10 s cooldown, resolves at 26 s
    expect(states).toEqual(['5:firing', '15:firing', '25:firing', '26:resolved']);
    expect(sent[0]).toMatchObject({ rule: 'Backlog', severity: 'warning', value: 500, threshold: 100, node: 'n1' });
  });

  it('a condition that clears while pending never fires', () => {
    const clock = new ManualClock();
    const engine = new AlertEngine([backlog], [], clock);
    const fired: AlertNotice[] = [];
    for (let s = 0; s < 10; s++) {
      fired.push(...engine.evaluate(snap(clock.now(), { mailboxDepth: s % 3 === 0 ? 0 : 500 })));
      clock.advance(1000);
    }
    expect(fired).toEqual([]);
  });

  it('rate rules compare per-second increases between snapshots', () => {
    const clock = new ManualClock();
    const storm: AlertRule = { name: 'Storm', metric: 'restarts', rate: true, op: '>', threshold: 1, forMs: 0, severity: 'warning' };
    const engine = new AlertEngine([storm], [], clock);
    expect(engine.evaluate(snap(0, { restarts: 0 }))).toEqual([]); // no rate yet
    clock.advance(1000);
    expect(engine.evaluate(snap(1000, { restarts: 1 }))).toEqual([]); // 1/s is not > 1
    clock.advance(1000);
    expect(engine.evaluate(snap(2000, { restarts: 5 })).map((n) => [n.state, n.value])).toEqual([['firing', 4]]);
  });

  it('the Prometheus rules file names the same alerts as DEFAULT_RULES', () => {
    const yml = readFileSync(new URL('../../runtime/observability/prometheus-rules.yml', import.meta.url), 'utf8');
    const names = [...yml.matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    expect(names).toEqual(DEFAULT_RULES.map((r) => r.name));
  });
});

describe('webhook channel', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  async function listen(handler: (body: string, count: number) => number): Promise<string> {
    let count = 0;
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        res.writeHead(handler(body, ++count));
        res.end();
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  }

  it('POSTs the notice as JSON to a local HTTP server', async () => {
    const received: unknown[] = [];
    const url = await listen((body) => (received.push(JSON.parse(body)), 200));
    const clock = new ManualClock();
    const engine = new AlertEngine([{ ...backlog, forMs: 0 }], [webhookChannel(url, clock)], clock);
    engine.evaluate(snap(0, { mailboxDepth: 1000 }));
    for (let i = 0; i < 200 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(received).toEqual([expect.objectContaining({ rule: 'Backlog', state: 'firing', value: 1000 })]);
  });

  it('retries a failing webhook with backoff, then succeeds', async () => {
    const url = await listen((_body, count) => (count < 3 ? 503 : 200));
    const clock = new ManualClock();
    const gaveUp: unknown[] = [];
    const channel = webhookChannel(url, clock, { retries: 3, backoffMs: 100, onGiveUp: (_n, e) => gaveUp.push(e) });
    const done = channel.send({ rule: 'R', state: 'firing', severity: 'info', value: 1, threshold: 0, summary: 's', node: 'n', at: 0 });
    // drive the manual clock through the backoff waits until the third attempt lands
    let finished = false;
    void Promise.resolve(done).then(() => (finished = true));
    for (let i = 0; i < 300 && !finished; i++) {
      await new Promise((r) => setTimeout(r, 10));
      clock.advance(100);
    }
    expect(finished).toBe(true);
    expect(gaveUp).toEqual([]);
  });
});
