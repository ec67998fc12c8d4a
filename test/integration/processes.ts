/**
 * Child processes for integration tests: a node process with its output captured, waited
 * for with bounds, and killed for sure when a test is done with it; a free port for one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface NodeProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code, or 'timeout' after `ms`. */
  exit(ms: number): Promise<number | null | 'timeout'>;
  /** Waits until stdout matches, bounded by `ms`; throws otherwise. */
  waitFor(pattern: RegExp, ms: number): Promise<void>;
  /** Writes one line to its stdin. */
  send(line: string): void;
  /** SIGKILLs it if it still runs. */
  dispose(): void;
}

export function startNode(args: string[], env: NodeJS.ProcessEnv = process.env): NodeProcess {
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
  child.stdin!.on('error', () => {});
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exit: (ms) => Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms))]),
    async waitFor(pattern, ms) {
      const deadline = performance.now() + ms;
      while (!pattern.test(out)) {
        if (performance.now() > deadline || child.exitCode !== null) throw new Error(`no ${pattern} in output within ${ms} ms:\n${out}${err}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    send(line) {
      child.stdin!.write(`${line}\n`);
    },
    dispose() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** A loopback port nothing listens on right now (bound once to find it, then closed): for a child to listen on. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
