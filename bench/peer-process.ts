/**
 * Starting the other process of a two-process scenario (a `*-peer.ts` script): spawned with
 * its arguments, its stdout read until it prints its `READY` line.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface PeerProcess {
  child: ChildProcess;
  /** The groups `ready` matched in the READY line. */
  ready: string[];
  /** Closes its stdin (it then stops and exits) and waits for it to exit. */
  stop(): Promise<void>;
}

/** Starts `script` with `args`; resolves once its stdout matches `ready`; rejects if it exits first. */
export async function startPeerProcess(script: string, args: string[], ready: RegExp, label: string): Promise<PeerProcess> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const groups = await new Promise<string[]>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve(m.slice(1));
    });
    child.once('exit', (code) => reject(new Error(`${label} peer exited with ${code}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    ready: groups,
    stop: async () => {
      child.stdin!.end();
      await exited;
    },
  };
}
