/**
 * The node's log: the logger's two formats and levels (runtime/logging/logger.ts), the flags
 * that pick them (logger-from-flags.ts), and which events make which line
 * (event-log.ts) — each happening logged once, at its level.
 */
import { PassThrough } from 'node:stream';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { SystemEvent } from '../../actors/events.js';
import type { MemberEvent } from '../../transport/membership.js';
import { createLogger, type LogFormat, type LogLevel } from '../../runtime/logging/logger.js';
import { loggerFromFlags, logSettings } from '../../runtime/logging/logger-from-flags.js';
import { logEvents } from '../../runtime/logging/event-log.js';
import { logChannel } from '../../runtime/observability/alerts.js';

/** A logger writing to memory, and its lines so far. */
function captured(format: LogFormat = 'json', level: LogLevel = 'info') {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const logger = createLogger({ node: 'n1', format, level, destination: out, tty: false });
  return {
    logger,
    text: () => text,
    lines: () =>
      text
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('createLogger', () => {
  it('writes one JSON object per line with level name, ISO time, node, msg and the given fields', () => {
    const log = captured();
    log.logger.child({ component: 'cluster' }).warn('member n2 down', { member: 'n2' });
    const [line, ...rest] = log.lines();
    expect(rest).toEqual([]);
    expect(line).toEqual({ level: 'warn', time: expect.any(String), node: 'n1', component: 'cluster', member: 'n2', msg: 'member n2 down' });
    expect(new Date(line!.time as string).toISOString()).toBe(line!.time);
  });

  it('writes nothing below its level, and a level change reaches the children made before it', () => {
    const log = captured('json', 'warn');
    const child = log.logger.child({ component: 'x' });
    child.info('hidden');
    log.logger.setLevel('debug');
    child.debug('shown');
    expect(log.logger.level).toBe('debug');
    expect(log.lines().map((l) => [l.level, l.msg])).toEqual([['debug', 'shown']]);
  });

  it('pretty: time, level, node, [component], message, and only the fields the message does not show', () => {
    const log = captured('pretty');
    log.logger.child({ component: 'cluster' }).warn('refused a node link from 10.0.0.1:5000: bad-secret', {
      event: 'link-refused',
      peer: '10.0.0.1:5000',
      reason: 'bad-secret',
      detail: 'MAC does not verify',
      count: 3,
    });
    expect(log.text()).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN  n1: \[cluster\] refused a node link from 10\.0\.0\.1:5000: bad-secret · detail="MAC does not verify" count=3\n$/);
  });

  it.each(['json', 'pretty'] as const)('%s: a newline a peer put in its name cannot start a line of its own', (format) => {
    const log = captured(format);
    log.logger.info('peer says it is x\n{"level":"error","msg":"forged"}', { node2: 'y\nz' });
    expect(log.text().trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('loggerFromFlags', () => {
  it('takes the flag over the environment, the environment over the default', () => {
    expect(logSettings({}, {})).toEqual({ level: 'info', format: 'auto' });
    expect(logSettings({}, { APIARY_LOG_LEVEL: 'debug', APIARY_LOG_FORMAT: 'json' })).toEqual({ level: 'debug', format: 'json' });
    expect(logSettings({ 'log-level': 'warn', 'log-format': 'pretty' }, { APIARY_LOG_LEVEL: 'debug', APIARY_LOG_FORMAT: 'json' })).toEqual({
      level: 'warn',
      format: 'pretty',
    });
  });

  it.each([
    [{ 'log-level': 'loud' }, {}, '--log-level'],
    [{ 'log-format': 'xml' }, {}, '--log-format'],
    [{}, { APIARY_LOG_LEVEL: 'chatty' }, 'APIARY_LOG_LEVEL'],
  ])('refuses %j %j with ERR_INVALID_ARGUMENT naming %s', (flags, env, field) => {
    expect(() => loggerFromFlags('n1', flags, env)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', field }));
  });

  it('builds a logger of that level and format', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const logger = loggerFromFlags('n7', { 'log-level': 'error', 'log-format': 'json' }, {}, out);
    logger.warn('hidden');
    logger.error('shown');
    expect(text.trim().split('\n').map((l) => JSON.parse(l) as { node: string; msg: string })).toEqual([expect.objectContaining({ node: 'n7', msg: 'shown' })]);
  });
});

describe('logEvents', () => {
  function sources() {
    const events = new Subject<SystemEvent>();
    const members = new Subject<MemberEvent>();
    const log = captured('json', 'info');
    const sub = logEvents(log.logger, { events$: events, members$: members });
    return { events, members, log, sub };
  }
  const err = (message: string) => ({ error: { name: 'Error', message } });

  it('logs a restart once, at info, with its exit reason; a bystander restarted along with it also at info', () => {
    const { events, log } = sources();
    events.next({ type: 'failed', path: '/app/a', reason: err('boom'), at: 0 });
    events.next({ type: 'supervisor-decision', path: '/app', child: '/app/a', directive: 'restart', reason: err('boom'), at: 0 });
    events.next({ type: 'restarted', path: '/app/a', incarnation: 2, restarts: 1, at: 0 });
    events.next({ type: 'restarted', path: '/app/b', incarnation: 2, restarts: 1, at: 0 });
    expect(log.lines().map((l) => [l.level, l.component, l.msg])).toEqual([
      ['info', 'supervisor', '/app/a exited (Error: boom): restarting'],
      ['info', 'supervisor', '/app/b restarted along with /app/a'],
    ]);
    expect(log.lines()[0]).toMatchObject({ event: 'restart', path: '/app/a', supervisor: '/app', reason: 'Error: boom' });
  });

  it('logs a supervisor giving up once: warn when it escalates to its parent, error when a top-level one stops for good', () => {
    const { events, log } = sources();
    events.next({ type: 'supervisor-decision', path: '/app/inner', child: '/app/inner/c', directive: 'shutdown', reason: err('again'), at: 0 });
    events.next({ type: 'escalated', path: '/app/inner', reason: 'shutdown', at: 0 });
    events.next({ type: 'supervisor-decision', path: '/app', child: '/app/inner', directive: 'escalate', reason: err('inner'), at: 0 });
    events.next({ type: 'escalated', path: '/app', reason: err('inner'), at: 0 });
    events.next({ type: 'failed', path: '/app', reason: err('inner'), at: 0 });
    expect(log.lines().map((l) => [l.level, l.msg])).toEqual([
      ['warn', '/app/inner gave up after /app/inner/c exited (Error: again): too many restarts: escalating to /app'],
      ['error', '/app gave up because /app/inner exited (Error: inner) and escalates; it is top-level, so its tree stays stopped'],
    ]);
  });

  it('logs a worker thread crash with its reason (warn) and its replacement (info), but not first boots', () => {
    const { events, log } = sources();
    events.next({ type: 'thread-up', thread: 1, generation: 1, at: 0 });
    events.next({ type: 'thread-down', thread: 1, reason: 'exited with code 7', at: 0 });
    events.next({ type: 'thread-up', thread: 1, generation: 2, at: 0 });
    events.next({ type: 'spare-down', reason: 'exited with code 1', failures: 3, retryInMs: undefined, gaveUp: true, at: 0 });
    expect(log.lines().map((l) => [l.level, l.component, l.msg])).toEqual([
      ['warn', 'threads', 'worker thread 1 died: exited with code 7'],
      ['info', 'threads', 'worker thread 1 replaced (generation 2)'],
      ['error', 'threads', 'spare worker thread died (exited with code 1), 3 in a row: no spares until a thread boots fine'],
    ]);
    expect(log.lines()[0]).toMatchObject({ event: 'thread-down', thread: 1, reason: 'exited with code 7' });
  });

  it('logs member changes with name, incarnation and url: up info, unreachable and down warn, removed info, joining not at info', () => {
    const { members, log } = sources();
    const m = (state: MemberEvent['state'], previous?: MemberEvent['state']): MemberEvent => ({
      type: 'member',
      node: 'n2',
      incarnation: 42,
      url: 'ws://10.0.0.2:7001',
      state,
      previous,
      at: 0,
    });
    for (const [s, p] of [['joining'], ['up', 'joining'], ['unreachable', 'up'], ['down', 'unreachable'], ['removed', 'down']] as const) members.next(m(s, p));
    expect(log.lines().map((l) => [l.level, l.msg])).toEqual([
      ['info', 'member n2 up (incarnation 42, ws://10.0.0.2:7001)'],
      ['warn', 'member n2 unreachable (incarnation 42, ws://10.0.0.2:7001)'],
      ['warn', 'member n2 down (incarnation 42, ws://10.0.0.2:7001)'],
      ['info', 'member n2 removed (incarnation 42, ws://10.0.0.2:7001)'],
    ]);
    expect(log.lines()[0]).toMatchObject({ component: 'cluster', event: 'member-up', member: 'n2', incarnation: 42, url: 'ws://10.0.0.2:7001' });
  });

  it('logs a circuit opening as a warning and closing as info, but not a breaker telling its initial state', () => {
    const { events, log } = sources();
    events.next({ type: 'breaker-state', name: 'api', state: 'closed', previous: 'closed', at: 0 });
    events.next({ type: 'breaker-state', name: 'api', state: 'open', previous: 'closed', at: 0 });
    events.next({ type: 'breaker-state', name: 'api', state: 'half-open', previous: 'open', at: 0 });
    expect(log.lines().map((l) => [l.level, l.component, l.msg])).toEqual([
      ['warn', 'toolkit', 'circuit api closed → open'],
      ['info', 'toolkit', 'circuit api open → half-open'],
    ]);
  });

  it('stops logging when its subscription ends', () => {
    const { events, log, sub } = sources();
    sub.unsubscribe();
    events.next({ type: 'thread-down', thread: 1, reason: 'gone', at: 0 });
    expect(log.lines()).toEqual([]);
  });
});

describe('logChannel', () => {
  it('logs a firing critical alert as an error, a firing warning as a warning, a resolved one as info', () => {
    const log = captured();
    const channel = logChannel(log.logger);
    const notice = { rule: 'R', value: 3, threshold: 1, summary: 'too many', node: 'n1', at: 0 };
    void channel.send({ ...notice, state: 'firing', severity: 'critical' });
    void channel.send({ ...notice, state: 'firing', severity: 'warning' });
    void channel.send({ ...notice, state: 'resolved', severity: 'critical' });
    expect(log.lines().map((l) => [l.level, l.component, l.msg])).toEqual([
      ['error', 'alerts', 'FIRING critical R: too many (value 3, threshold 1)'],
      ['warn', 'alerts', 'FIRING warning R: too many (value 3, threshold 1)'],
      ['info', 'alerts', 'resolved critical R: too many (value 3, threshold 1)'],
    ]);
  });
});
