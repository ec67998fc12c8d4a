/**
 * Hot reload: what a changed config file does to a running system — live fields applied
 * (log level, alert rules and channels, named rate limits and degradation settings), the
 * rest reported as needing a restart, a bad file changing nothing — and the pure diff.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configDefaults } from '../../../runtime/config/defaults.js';
import type { EffectiveConfig } from '../../../runtime/config/node-config.js';
import { ConfigReloader, diffConfig } from '../../../runtime/config/reload.js';
import { resolveConfig, type ResolveInputs } from '../../../runtime/config/resolve.js';
import { createLogger, type Logger } from '../../../runtime/logging/logger.js';
import { ofType, testSystem, type TestSystem } from '../support.js';

const base = configDefaults(false) as EffectiveConfig;

describe('diffConfig', () => {
  it.each<[string, Partial<EffectiveConfig>, string[], string[]]>([
    ['nothing changed', {}, [], []],
    ['the log level', { logLevel: 'debug' }, ['logLevel'], []],
    ['an alert rule', { alerts: { rules: [], channels: base.alerts.channels } }, ['alerts.rules'], []],
    ['alert channels', { alerts: { rules: base.alerts.rules, channels: [] } }, ['alerts.channels'], []],
    ['a named rate limit', { rateLimits: { 'summary-api': { tokens: 1 } } }, ['rateLimits.summary-api'], []],
    ['named degradation settings', { degradation: { swarm: { recoverAfterMs: 0 } } }, ['degradation.swarm'], []],
    ['threads', { threads: base.threads + 1 }, [], ['threads']],
    ['one health setting', { health: { ...base.health, checkMs: 7 } }, [], ['health.checkMs']],
    ['where it listens and the log level', { listen: '127.0.0.1:7401', logLevel: 'warn' }, ['logLevel'], ['listen']],
  ])('%s', (_, change, live, restart) => {
    expect(diffConfig(base, { ...base, ...change })).toEqual({ live, restart });
  });
});

describe('ConfigReloader', () => {
  let dir: string;
  let t: TestSystem;
  let reloader: ConfigReloader | undefined;
  let lines: Record<string, unknown>[];
  let logger: Logger;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'apiary-reload-'));
    lines = [];
    const out = new PassThrough();
    out.on('data', (d: Buffer) => {
      for (const l of d.toString().split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
    });
    logger = createLogger({ node: 'unit', level: 'info', format: 'json', destination: out });
  });
  afterEach(async () => {
    reloader?.close();
    reloader = undefined;
    await t?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const file = (yaml: string): void => writeFileSync(join(dir, 'apiary.config.yaml'), yaml);
  async function started(yaml: string, argv: string[] = []): Promise<ConfigReloader> {
    file(yaml);
    const inputs: ResolveInputs = { argv, env: {}, cwd: dir };
    const resolved = await resolveConfig(inputs);
    t = testSystem({ alerts: { rules: resolved.config.alerts.rules, channels: [] }, rateLimits: resolved.config.rateLimits });
    logger.setLevel(resolved.config.logLevel);
    reloader = new ConfigReloader(resolved, inputs, t.system, logger, { signal: false, watch: false });
    return reloader;
  }
  const rule = (name: string, threshold = 0) => `{ name: ${name}, metric: actorsRunning, op: ">=", threshold: ${threshold}, severity: info }`;

  it('applies a new log level, alert rule and rate limit live, and says so on events$', async () => {
    const r = await started(`alerts:\n  rules: [${rule('Old')}]\n`);
    file(`logLevel: debug\nalerts:\n  rules: [${rule('Old')}, ${rule('New')}]\nrateLimits:\n  summary-api: { tokens: 1 }\n`);
    const outcome = await r.reload();
    expect(outcome).toEqual({ ok: true, applied: ['logLevel', 'alerts.rules', 'rateLimits.summary-api'], needsRestart: [], errors: [] });
    expect(logger.level).toBe('debug');
    expect(t.system.settings.alerts.rules.map((x) => x.name)).toEqual(['Old', 'New']);
    expect(t.system.settings.rateLimit('summary-api')).toEqual({ tokens: 1 });
    expect(ofType(t.events, 'config-reloaded')).toMatchObject([{ applied: ['logLevel', 'alerts.rules', 'rateLimits.summary-api'], needsRestart: [] }]);
    expect(lines.find((l) => l.msg === 'config reloaded: logLevel, alerts.rules, rateLimits.summary-api')).toMatchObject({ level: 'info' });
    // the next reload logs at debug, now that the level is debug
    await r.reload();
    expect(lines.some((l) => l.level === 'debug' && l.msg === 'config reload requested')).toBe(true);
  });

  it('reports other changed fields as needing a restart and leaves them as they run', async () => {
    const r = await started('threads: 1\n');
    file('threads: 3\nhealth:\n  checkMs: 50\nlogLevel: warn\n');
    const outcome = await r.reload();
    expect(outcome).toMatchObject({ ok: true, applied: ['logLevel'], needsRestart: ['threads', 'health.checkMs'] });
    expect(r.config.threads).toBe(1);
    expect(r.config.logLevel).toBe('warn');
    expect(lines.find((l) => l.level === 'warn')).toMatchObject({ msg: 'config changed, needs a restart (not applied): threads, health.checkMs' });
  });

  it('changes nothing when the new config has a bad field, and logs why', async () => {
    const r = await started(`alerts:\n  rules: [${rule('Old')}]\n`);
    file(`logLevel: debug\nheartbeatMs: -5\nalerts:\n  rules: [${rule('New')}]\n`);
    const outcome = await r.reload();
    expect(outcome).toEqual({ ok: false, applied: [], needsRestart: [], errors: ['heartbeatMs must be a number > 0, got -5 (in apiary.config.yaml)'] });
    expect(logger.level).toBe('info');
    expect(t.system.settings.alerts.rules.map((x) => x.name)).toEqual(['Old']);
    expect(ofType(t.events, 'config-reloaded')).toEqual([]);
    expect(ofType(t.events, 'config-rejected')).toMatchObject([{ errors: outcome.errors }]);
    expect(lines.find((l) => l.level === 'error')?.msg).toMatch(/^config reload refused, nothing changed: heartbeatMs must be a number > 0, got -5/);
  });

  it('keeps a value given by a flag over the reloaded file', async () => {
    const r = await started('logLevel: info\n', ['--log-level', 'warn']);
    file('logLevel: debug\n');
    expect((await r.reload()).applied).toEqual([]);
    expect(logger.level).toBe('warn');
  });

  it('runs reloads one after the other', async () => {
    const r = await started('logLevel: info\n');
    file('logLevel: debug\n');
    const [a, b] = await Promise.all([r.reload(), r.reload()]);
    expect([a.applied, b.applied]).toEqual([['logLevel'], []]);
  });
});
