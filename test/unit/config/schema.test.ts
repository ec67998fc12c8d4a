/**
 * The one schema of node options: each bad field is named with what was expected and what
 * came, from a config file's fields and from `new ActorSystem(...)` alike.
 */
import { describe, expect, it } from 'vitest';
import { ActorSystem } from '../../../index.js';
import { checkCombined, checkConfig, checkSystemOptions } from '../../../runtime/config/schema.js';

describe('the config schema', () => {
  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ['threads -1', { threads: -1 }, 'threads', /an integer >= 0/],
    ['threads 1.5', { threads: 1.5 }, 'threads', /an integer >= 0/],
    ['threads "many"', { threads: 'many' }, 'threads', /an integer >= 0/],
    ['heartbeatMs -5', { heartbeatMs: -5 }, 'heartbeatMs', /a number > 0/],
    ['metricsMs 0', { metricsMs: 0 }, 'metricsMs', /a number > 0/],
    ['throughput 0', { throughput: 0 }, 'throughput', /an integer >= 1/],
    ['turnBudget 2.5', { turnBudget: 2.5 }, 'turnBudget', /an integer >= 1/],
    ['a seed that is not ws://HOST:PORT', { seeds: ['http://127.0.0.1:7401'] }, 'seeds.0', /ws:\/\/HOST:PORT/],
    ['a seed without a port', { seeds: ['ws://127.0.0.1'] }, 'seeds.0', /ws:\/\/HOST:PORT/],
    ['a log level that does not exist', { logLevel: 'loud' }, 'logLevel', /one of fatal, error, warn, info, debug/],
    ['a log format that does not exist', { logFormat: 'xml' }, 'logFormat', /one of pretty, json, auto/],
    ['a listen port over 65535', { listen: '127.0.0.1:70000' }, 'listen', /port from 0 to 65535/],
    ['an http address without a port', { http: 'localhost' }, 'http', /HOST:PORT/],
    ['a store of an unknown kind', { store: 'mongo://db:27017' }, 'store', /lmdb:DIR or redis:\/\/HOST:PORT/],
    ['a demo fault rate above 1', { demo: { faultRate: 2 } }, 'demo.faultRate', /from 0 to 1/],
    ['a health lag of 0', { health: { criticalLagMs: 0 } }, 'health.criticalLagMs', /a number > 0/],
    ['a cluster gossip period below 0', { cluster: { gossipMs: -1 } }, 'cluster.gossipMs', /a number > 0/],
    ['an alert rule on a metric that does not exist', { alerts: { rules: [{ name: 'A', metric: 'cpu', op: '>', threshold: 1, severity: 'info' }] } }, 'alerts.rules.0.metric', /one of messagesProcessed/],
    ['two alert rules with one name', { alerts: { rules: [{ name: 'A', metric: 'restarts', op: '>', threshold: 1, severity: 'info' }, { name: 'A', metric: 'restarts', op: '>', threshold: 2, severity: 'info' }] } }, 'alerts.rules.1.name', /a name no other rule has/],
    ['a webhook channel without an http URL', { alerts: { channels: [{ type: 'webhook', url: 'ftp://x' }] } }, 'alerts.channels.0.url', /http:\/\/ or https:\/\/ URL/],
    ['an alert channel of an unknown type', { alerts: { channels: [{ type: 'sms' }] } }, 'alerts.channels.0', /an alert channel/],
    ['a rate limit of 0 tokens', { rateLimits: { 'summary-api': { tokens: 0 } } }, 'rateLimits.summary-api.tokens', /a number >= 1/],
    ['a degradation rule at an unknown level', { degradation: { swarm: { rules: [{ level: 'LOW', signal: 'x', op: '>', value: 1 }] } } }, 'degradation.swarm.rules.0.level', /one of FULL, REDUCED/],
    ['a node name with a space', { name: 'my node' }, 'name', /a node name/],
    ['a misspelt field', { heartbeatMS: 100 }, 'heartbeatMS', /not a known field \(did you mean heartbeatMs\?\)/],
  ])('rejects %s, naming the field and what it expected', (_, raw, field, expected) => {
    const issues = checkConfig(raw);
    expect(issues.map((i) => i.path.join('.'))).toEqual([field]);
    expect(issues[0]!.expected).toMatch(expected);
  });

  it('reports every bad field at once, each with what came', () => {
    const issues = checkConfig({ threads: -1, metricsMs: 0, logLevel: 'loud' });
    expect(issues.map((i) => [i.path.join('.'), i.received])).toEqual([
      ['threads', -1],
      ['metricsMs', 0],
      ['logLevel', 'loud'],
    ]);
  });

  it('accepts a full config of good values', () => {
    expect(
      checkConfig({
        name: 'n1',
        threads: 0,
        listen: '127.0.0.1:0',
        http: ':9464',
        seeds: ['ws://127.0.0.1:7401', 'ws://[::1]:7402'],
        insecure: true,
        logLevel: 'debug',
        logFormat: 'json',
        heartbeatMs: 100,
        metricsMs: 250,
        throughput: 10,
        turnBudget: 1000,
        lowLatency: { spinMicros: 20 },
        health: { degradedLagMs: 50, criticalLagMs: 500 },
        cluster: { heartbeatMs: 100, reconnect: { minMs: 50, maxMs: 500 } },
        alerts: { rules: [{ name: 'A', metric: 'restarts', rate: true, op: '>', threshold: 1, severity: 'warning' }], channels: [{ type: 'console' }, { type: 'webhook', url: 'https://hooks.example.com/x', retries: 0 }] },
        rateLimits: { 'summary-api': { tokens: 1, intervalMs: 1000 } },
        degradation: { swarm: { recoverAfterMs: 0, rules: [{ level: 'MINIMAL', signal: 'health', op: '>=', value: 'critical' }] } },
        demo: { faultRate: 0 },
        app: './tree.mjs',
      }),
    ).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a TLS key without its certificate', { tlsKey: '/k.pem' }, 'tlsCert'],
    ['a CA without a certificate', { tlsCa: '/ca.pem' }, 'tlsCa'],
    ['a degraded lag not below the critical one', { health: { degradedLagMs: 1000, criticalLagMs: 1000 } }, 'health.degradedLagMs'],
    ['a reconnect max below its min', { cluster: { reconnect: { minMs: 500, maxMs: 100 } } }, 'cluster.reconnect.maxMs'],
  ])('between fields, rejects %s', (_, config, field) => {
    expect(checkCombined(config).map((i) => i.path.join('.'))).toEqual([field]);
  });
});

describe('new ActorSystem(options)', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['threads -1', { threads: -1 }, 'threads'],
    ['threads 1.5', { threads: 1.5 }, 'threads'],
    ['heartbeatMs -5', { heartbeatMs: -5 }, 'heartbeatMs'],
    ['metricsMs 0', { metricsMs: 0 }, 'metricsMs'],
    ['throughput 0', { throughput: 0 }, 'throughput'],
    ['a cluster secret that is a string', { cluster: { secret: 'not bytes' } }, 'cluster.secret'],
    ['a degraded lag above the critical one', { health: { degradedLagMs: 2000, criticalLagMs: 1000 } }, 'health.degradedLagMs'],
  ])('throws ERR_INVALID_ARGUMENT naming the field for %s', (_, options, field) => {
    expect(() => new ActorSystem(options)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', field }));
  });

  it('takes the options it always took', () => {
    expect(() =>
      checkSystemOptions({ threads: 0, heartbeatMs: 100, spareThreads: 0, lowLatency: true, health: { acceptablePauseMs: 300 }, cluster: { secret: new Uint8Array(0), insecure: true, listen: { host: '127.0.0.1', port: 0 } } }),
    ).not.toThrow();
  });
});
