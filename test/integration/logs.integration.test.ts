/**
 * What `apiary start` logs, read as users' log shippers read it: JSON lines on stdout (not a
 * TTY). Real node processes on 127.0.0.1: a wrong cluster secret (and a taken name) is logged
 * on both sides and shown by `apiary status` and /health; member changes are logged once
 * each; a worker thread crash is logged with its reason; the two flags take effect.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startNode, type NodeProcess } from './processes.js';
import { logLines, waitForLine, type LogLine } from './log-lines.js';

const cli = fileURLToPath(new URL('../../dist/runtime/cli/main.js', import.meta.url));
const config = fileURLToPath(new URL('../fixtures/logs-config.mjs', import.meta.url));
const running: NodeProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.dispose();
});

interface Started {
  proc: NodeProcess;
  /** `host:port` of its node links and of its admin server. */
  ws: string;
  http: string;
}

/** Starts `apiary start --config logs-config.mjs` and waits for its ready line. */
async function start(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Started> {
  const proc = startNode([cli, 'start', '--name', name, '--config', config, '--http', '127.0.0.1:0', ...args], { ...process.env, ...env });
  running.push(proc);
  const ready = await waitForLine(proc, (l) => l.msg.startsWith(`apiary node ${name} ready`), 20_000);
  const [, ws, http] = /ws: (\S+) · http: (\S+)/.exec(ready.msg)!;
  return { proc, ws: ws!, http: http! };
}

function apiary(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout: 10_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const clusterArgs = (seeds?: string) => ['--threads', '0', '--listen', '127.0.0.1:0', ...(seeds ? ['--seeds', `ws://${seeds}`] : [])];
const refusedLines = (p: NodeProcess) => logLines(p.stdout()).filter((l) => l.event === 'link-refused');

describe('logs of a node with the wrong cluster secret', () => {
  it('both nodes log the refusal once, with reason bad-secret and the other side’s address; status, /health and /metrics show it', async () => {
    const n1 = await start('n1', clusterArgs(), { APIARY_SECRET: 'the-swarm-secret' });
    const n2 = await start('n2', clusterArgs(n1.ws), { APIARY_SECRET: 'a-wrong-guess' });

    const accepting = await waitForLine(n1.proc, (l) => l.event === 'link-refused', 10_000);
    expect(accepting).toMatchObject({ level: 'warn', node: 'n1', component: 'cluster', side: 'accepting', reason: 'bad-secret', peerNode: 'n2' });
    expect(accepting.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(accepting.msg).toContain(`from ${accepting.peer as string}`);
    const connecting = await waitForLine(n2.proc, (l) => l.event === 'link-refused', 10_000);
    expect(connecting).toMatchObject({ level: 'warn', node: 'n2', component: 'cluster', side: 'connecting', reason: 'bad-secret', peer: n1.ws, peerNode: 'n1' });

    // n2 keeps retrying its seed (backoff up to 2 s): counted every time, logged once
    const health = async (http: string) =>
      (await (await fetch(`http://${http}/health`)).json()) as { status: string; members: { node: string }[]; refusals: Record<string, unknown>[] };
    const deadline = performance.now() + 10_000;
    while (((await health(n2.http)).refusals[0]?.count as number) < 3 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const h2 = await health(n2.http);
    expect(h2.members.map((m) => m.node)).toEqual(['n2']);
    expect(h2.refusals).toEqual([
      expect.objectContaining({ side: 'connecting', reason: 'bad-secret', peer: n1.ws, node: 'n1', count: expect.any(Number), agoMs: expect.any(Number) }),
    ]);
    expect(h2.refusals[0]!.count).toBeGreaterThanOrEqual(3);
    expect(refusedLines(n2.proc)).toHaveLength(1);
    expect(refusedLines(n1.proc)).toHaveLength(1);
    expect((await health(n1.http)).refusals).toEqual([expect.objectContaining({ side: 'accepting', reason: 'bad-secret', node: 'n2' })]);

    const s2 = await apiary(['status', '--http', n2.http]);
    expect(s2.code).toBe(0);
    expect(s2.stdout).toMatch(new RegExp(`\\nrefused links: bad-secret to ${n1.ws.replaceAll('.', '\\.')} \\(n1\\) ×\\d+, last \\d+s ago\\n$`));
    const s1 = await apiary(['status', '--http', n1.http]);
    expect(s1.stdout).toMatch(/\nrefused links: bad-secret from 127\.0\.0\.1:\d+ \(n2\) ×\d+, last \d+s ago\n$/);

    const metrics = await (await fetch(`http://${n1.http}/metrics`)).text();
    expect(Number(/^apiary_handshake_refusals_total\{reason="bad-secret"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(3);
    expect(metrics).toMatch(/^apiary_handshake_refusals_total\{reason="name-taken"\} 0$/m);

    // every line a log shipper reads: level, time, node, msg
    for (const n of [n1, n2]) {
      for (const l of logLines(n.proc.stdout())) {
        expect(l).toMatchObject({ level: expect.stringMatching(/^(fatal|error|warn|info|debug|trace)$/), node: expect.stringMatching(/^n[12]$/), msg: expect.any(String) });
        expect(new Date(l.time).toISOString()).toBe(l.time);
      }
    }
  }, 60_000);
});

describe('logs of a node whose name is taken', () => {
  it('a second live node named n2 is refused: the node it joined through and the twin both log name-taken', async () => {
    const env = { APIARY_SECRET: 'the-swarm-secret' };
    const n1 = await start('n1', clusterArgs(), env);
    await start('n2', clusterArgs(n1.ws), env);
    await waitForLine(n1.proc, (l) => l.event === 'member-up' && l.member === 'n2', 10_000);
    const twin = await start('n2', clusterArgs(n1.ws), env);
    const here = await waitForLine(n1.proc, (l) => l.event === 'link-refused', 10_000);
    expect(here).toMatchObject({ level: 'warn', side: 'accepting', reason: 'name-taken', peerNode: 'n2', peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    const there = await waitForLine(twin.proc, (l) => l.event === 'link-refused', 10_000);
    expect(there).toMatchObject({ level: 'warn', side: 'connecting', reason: 'name-taken', peerNode: 'n1', peer: n1.ws });
    const status = await apiary(['status', '--http', twin.http]);
    expect(status.stdout).toMatch(/\nrefused links: name-taken to 127\.0\.0\.1:\d+ \(n1\)/);
  }, 60_000);
});

describe('logs of membership', () => {
  it('three nodes join and one is killed: each survivor logs every other member up once, and the killed one unreachable and down once', async () => {
    const env = { APIARY_SECRET: 'the-swarm-secret' };
    const n1 = await start('n1', clusterArgs(), env);
    const n2 = await start('n2', clusterArgs(n1.ws), env);
    const n3 = await start('n3', clusterArgs(n1.ws), env);
    const member = (state: string, name: string) => (l: LogLine) => l.event === `member-${state}` && l.member === name;
    for (const [n, others] of [
      [n1, ['n2', 'n3']],
      [n2, ['n1', 'n3']],
    ] as const) {
      for (const other of others) await waitForLine(n.proc, member('up', other), 10_000);
    }
    n3.proc.child.kill('SIGKILL');
    for (const n of [n1, n2]) await waitForLine(n.proc, member('down', 'n3'), 15_000);
    await new Promise((r) => setTimeout(r, 500)); // anything said twice would be said by now

    for (const [n, others] of [
      [n1, ['n2', 'n3']],
      [n2, ['n1', 'n3']],
    ] as const) {
      const lines = logLines(n.proc.stdout());
      const count = (state: string, name: string) => lines.filter(member(state, name)).length;
      for (const other of others) expect(count('up', other), `${other} up, as ${lines[0]?.node} logged it`).toBe(1);
      expect(count('unreachable', 'n3')).toBe(1);
      expect(count('down', 'n3')).toBe(1);
      const down = lines.find(member('down', 'n3'))!;
      expect(down).toMatchObject({ level: 'warn', component: 'cluster', incarnation: expect.any(Number), url: `ws://${n3.ws}` });
      expect(down.msg).toBe(`member n3 down (incarnation ${down.incarnation as number}, ws://${n3.ws})`);
      expect(lines.find(member('up', 'n3'))).toMatchObject({ level: 'info' });
    }
  }, 90_000);
});

describe('logs of a worker thread crash', () => {
  it('the dead thread is logged with its reason (warn), the actor’s restart with it (info), the new thread once (info)', async () => {
    const node = await start('w1', ['--threads', '1'], { APIARY_TEST_WORKER: '1' });
    const res = await fetch(`http://${node.http}/actors/app/trouble/ask`, { method: 'POST', body: JSON.stringify({ type: 'exit', code: 7 }) });
    expect(res.status).toBe(502); // the ask died with its thread
    const down = await waitForLine(node.proc, (l) => l.event === 'thread-down', 10_000);
    expect(down).toMatchObject({ level: 'warn', component: 'threads', node: 'w1', thread: 1, msg: expect.stringMatching(/^worker thread 1 died: .*code 7/) });
    const restart = await waitForLine(node.proc, (l) => l.event === 'restart' && l.path === '/app/trouble', 10_000);
    expect(restart).toMatchObject({ level: 'info', component: 'supervisor', reason: 'thread-crash', msg: '/app/trouble exited (thread-crash): restarting' });
    await waitForLine(node.proc, (l) => l.event === 'thread-replaced', 15_000);
    await new Promise((r) => setTimeout(r, 300));
    const lines = logLines(node.proc.stdout());
    expect(lines.filter((l) => l.event === 'thread-down')).toHaveLength(1);
    expect(lines.filter((l) => l.event === 'thread-replaced')).toEqual([expect.objectContaining({ level: 'info', thread: 1 })]);
    expect(lines.filter((l) => l.event === 'restart')).toHaveLength(1);
  }, 60_000);
});

describe('--log-format and --log-level', () => {
  it('pretty lines (time, level, node, [component], message) even off a TTY, and debug lines at --log-level debug', async () => {
    const proc = startNode([cli, 'start', '--name', 'p1', '--config', config, '--threads', '0', '--http', '127.0.0.1:0', '--log-format', 'pretty', '--log-level', 'debug']);
    running.push(proc);
    await proc.waitFor(/^\d\d:\d\d:\d\d\.\d{3} INFO  p1: apiary node p1 ready · threads: 0 · ws: - · http: 127\.0\.0\.1:\d+ · config \S+$/m, 20_000);
    expect(proc.stdout()).toMatch(/^\d\d:\d\d:\d\d\.\d{3} DEBUG p1: \[actors\] \/app\/echo started$/m);
    expect(proc.stdout()).not.toMatch(/^\{/m);
    proc.child.kill('SIGTERM');
    expect(await proc.exit(15_000)).toBe(0);
    expect(proc.stdout()).toMatch(/ INFO  p1: apiary node p1 stopped\n$/);
  });

  it('--log-level warn leaves out the info lines, ready line included', async () => {
    const proc = startNode([cli, 'start', '--name', 'q1', '--config', config, '--threads', '0', '--http', '127.0.0.1:0', '--log-level', 'warn', '--listen', '127.0.0.1:0', '--insecure']);
    running.push(proc);
    // without a secret the node says it keeps to loopback: a warning, so it is written
    const notice = await waitForLine(proc, (l) => l.event === 'no-secret', 20_000);
    expect(notice.level).toBe('warn');
    await new Promise((r) => setTimeout(r, 1500)); // time enough to be ready
    expect(logLines(proc.stdout()).filter((l) => l.level === 'info')).toEqual([]);
  });
});
