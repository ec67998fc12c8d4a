/**
 * A real redis-server for the task tests (until the shared harness lands): started on
 * 127.0.0.1 on a free port with no persistence, waited for until it answers PING, stopped
 * (SIGTERM, then SIGKILL) when the test is done. `stop()` and `restart()` let a test take the
 * server away mid-run and bring it back on the same port (its data is lost unless `keep`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';

export const REDIS_SERVER = '/usr/bin/redis-server';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Stops it (kill -9). */
  stop(): Promise<void>;
  /** Starts it again on the same port and waits for PONG. */
  start(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let out = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      out += d.toString();
      if (out.includes('PONG')) done(true);
    });
  });
}

/**
 * Starts redis-server and resolves once it answers PONG (within 10 s). With `dir`, it keeps
 * an append-only file there, fsynced on every write (so a stopped server comes back with
 * what it acknowledged); else nothing is saved.
 */
export async function startRedis(options: { dir?: string } = {}): Promise<RedisServer> {
  const port = await freePort();
  const persistence = options.dir === undefined ? ['--save', '', '--appendonly', 'no'] : ['--save', '', '--dir', options.dir, '--appendonly', 'yes', '--appendfsync', 'always'];
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', ...persistence], { stdio: 'ignore' });
    const deadline = performance.now() + 10_000;
    while (!(await ping(port))) {
      if (performance.now() > deadline || child.exitCode !== null) throw new Error(`redis-server on ${port} did not answer`);
      await new Promise((r) => setTimeout(r, 30));
    }
  };
  const stop = async () => {
    const c = child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, stop, start };
}
