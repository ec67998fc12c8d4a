/**
 * Test harness: a real redis-server (the Debian package) as a child process on 127.0.0.1 and
 * a random free port, without persistence (or, with `dir`, an append-only file there fsynced
 * on every write, so a stopped server comes back with what it acknowledged), stopped (and
 * awaited) at the end. Tests that need
 * Redis start one in beforeAll and stop it in afterAll; `restart()` stops and starts it on the
 * same port (the "Redis lost mid-run, back later" case).
 */
import { afterEach } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from './processes.js';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Kills the server (SIGKILL: as a crash would) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and waits until it answers. */
  start(): Promise<void>;
}

/** Starts redis-server on a free loopback port; rejects with how to install it if missing. */
export async function startRedisServer(options: { dir?: string } = {}): Promise<RedisServer> {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (found.error !== undefined) throw new Error('redis-server is not installed: apt-get install redis-server (the Redis store tests need a real server)');
  const port = await freePort();
  const persistence = options.dir === undefined ? ['--save', '', '--appendonly', 'no'] : ['--save', '', '--dir', options.dir, '--appendonly', 'yes', '--appendfsync', 'always'];
  let child: ChildProcess | undefined;
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      const c = child;
      child = undefined;
      if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGKILL');
      await exited;
    },
    async start() {
      const c = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', ...persistence, '--daemonize', 'no', '--protected-mode', 'yes'], { stdio: 'ignore' });
      child = c;
      await waitForPong(port, c);
    },
  };
  await server.start();
  return server;
}

async function waitForPong(port: number, child: ChildProcess): Promise<void> {
  const deadline = performance.now() + 5_000;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} before answering on port ${port}`);
    if (await ping(port)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not answer PING on port ${port} within 5 s`);
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      answer += d.toString();
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
  });
}

/** A redis-server for each test of the calling describe block: `start()` it in the test; it is stopped after the test. */
export function redisOfTest(): { start(): Promise<RedisServer> } {
  let server: RedisServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });
  return { start: async () => (server = await startRedisServer()) };
}
