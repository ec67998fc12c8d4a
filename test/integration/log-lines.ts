/**
 * Reading what `apiary start` logs: off a TTY it writes one JSON object per line on stdout
 * (runtime/logging/logger.ts). Parsing, and waiting (bounded) for a line that matches.
 */
import type { NodeProcess } from './processes.js';

/** One log line: pino's fields and whatever the line carries. */
export interface LogLine {
  level: string;
  time: string;
  node: string;
  msg: string;
  component?: string;
  event?: string;
  [field: string]: unknown;
}

/** Every complete stdout line parsed as JSON; throws on a line that is not JSON. */
export function logLines(stdout: string): LogLine[] {
  return stdout
    .split('\n')
    .slice(0, -1) // the last piece is an unfinished line (or '')
    .filter((l) => l.length > 0)
    .map((l) => {
      try {
        return JSON.parse(l) as LogLine;
      } catch {
        throw new Error(`not a JSON log line: ${l}`);
      }
    });
}

/** Waits until a logged line matches `match`, bounded by `ms`; resolves with it. */
export async function waitForLine(node: NodeProcess, match: (l: LogLine) => boolean, ms: number): Promise<LogLine> {
  const deadline = performance.now() + ms;
  for (;;) {
    const hit = logLines(node.stdout()).find(match);
    if (hit !== undefined) return hit;
    if (performance.now() > deadline || node.child.exitCode !== null) {
      throw new Error(`no matching log line within ${ms} ms:\n${node.stdout()}${node.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
