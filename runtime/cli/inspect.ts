/**
 * `apiary tree | kill | status`: the CLI side of the HTTP admin server.
 *
 * Owns: talking to a running node over HTTP and printing what it says — the tree as an
 * indented ASCII tree (colour on a TTY unless NO_COLOR is set) or exactly /tree's JSON. A
 * node that does not answer, or refuses (401 without the right `--admin-token-file` /
 * APIARY_ADMIN_TOKEN), is one line on stderr and exit code 1 (thrown as a CliError).
 */
import { parseArgs } from 'node:util';
import type { TreeEntry, TreeSnapshot } from '../../supervisor/tree.js';
import { sleep } from '../../actors/foundation/clock.js';
import { adminTarget, type AdminTarget } from './admin-client.js';
import { CliError, UsageError } from './usage.js';

/** The flags every verb here takes to reach the node. */
const TARGET_FLAGS = { http: { type: 'string' }, 'admin-token-file': { type: 'string' } } as const;

async function call(target: AdminTarget, path: string, init?: RequestInit): Promise<{ status: number; text: string }> {
  let res: Response;
  try {
    res = await fetch(`${target.base}${path}`, { ...init, headers: target.headers, signal: AbortSignal.timeout(5000) });
  } catch {
    throw new CliError(`no node answers at ${target.base} (is one running with --http there?)`);
  }
  return { status: res.status, text: await res.text() };
}

function errorOf(status: number, text: string): string {
  let message: string;
  try {
    const body = JSON.parse(text) as { error?: { message?: string } };
    message = body.error?.message ?? text.trim();
  } catch {
    message = text.trim();
  }
  return status === 401 ? `${message} (give it with --admin-token-file FILE or APIARY_ADMIN_TOKEN)` : message;
}

/**
 * Whether to print colour on `stream`: only on a terminal, and never when the NO_COLOR
 * environment variable is set to anything but the empty string (https://no-color.org).
 */
export function wantsColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

const COLOURS = { running: '\x1b[32m', restarting: '\x1b[33m', stopped: '\x1b[31m', reset: '\x1b[0m' } as const;

function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Renders a tree snapshot as indented lines: id, kind, status, restarts, thread, mailbox, uptime. */
export function renderTree(tree: TreeSnapshot, colour = false): string {
  const lines = [`node ${tree.node}`];
  const walk = (entries: TreeEntry[], prefix: string): void => {
    entries.forEach((e, i) => {
      const last = i === entries.length - 1;
      const status = colour ? `${COLOURS[e.status]}${e.status}${COLOURS.reset}` : e.status;
      lines.push(
        `${prefix}${last ? '└─' : '├─'} ${e.id} [${e.kind}] ${status} restarts=${e.restarts} thread=${e.thread} mailbox=${e.mailbox}` +
          (e.status === 'running' ? ` up=${duration(e.uptimeMs ?? 0)}` : ''),
      );
      if (e.children) walk(e.children, `${prefix}${last ? '   ' : '│  '}`);
    });
  };
  walk(tree.children, '');
  return `${lines.join('\n')}\n`;
}

export async function inspectTree(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { ...TARGET_FLAGS, json: { type: 'boolean', default: false }, watch: { type: 'boolean', default: false } },
  });
  const target = adminTarget(values.http, values['admin-token-file']);
  const once = async (): Promise<void> => {
    const { status, text } = await call(target, '/tree');
    if (status !== 200) throw new CliError(`${target.base}/tree answered ${status}: ${errorOf(status, text)}`);
    if (values.json) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    else {
      if (values.watch && process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
      process.stdout.write(renderTree(JSON.parse(text) as TreeSnapshot, wantsColour(process.stdout)));
    }
  };
  await once();
  if (!values.watch) return;
  for (;;) {
    await sleep(1000);
    await once();
  }
}

export async function killActor(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...TARGET_FLAGS, reason: { type: 'string' } },
  });
  const path = positionals[0];
  if (path === undefined) throw new UsageError('kill: missing PATH, the actor to kill (see apiary kill --help)');
  if (positionals.length > 1) throw new UsageError(`kill: one PATH only, got ${positionals.length} (see apiary kill --help)`);
  const target = adminTarget(values.http, values['admin-token-file']);
  const query = values.reason ? `?reason=${encodeURIComponent(values.reason)}` : '';
  const actor = path.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/');
  const { status, text } = await call(target, `/actors/${actor}/kill${query}`, { method: 'POST' });
  if (status !== 200) throw new CliError(`cannot kill ${path}: ${errorOf(status, text)}`);
  console.log(`killed /${path.replace(/^\/+/, '')}`);
}

export async function status(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { ...TARGET_FLAGS, json: { type: 'boolean', default: false } } });
  const target = adminTarget(values.http, values['admin-token-file']);
  const { status: code, text } = await call(target, '/health');
  if (code !== 200 && code !== 503) throw new CliError(`${target.base}/health answered ${code}: ${errorOf(code, text)}`);
  if (values.json) {
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    return;
  }
  const h = JSON.parse(text) as {
    node: string;
    status: string;
    uptimeMs: number;
    threads: { thread: number; status: string; lagMs: number }[];
    members: { node: string; state: string }[];
    refusals?: { side: string; reason: string; peer: string; node?: string; count: number; agoMs: number }[];
  };
  console.log(`node ${h.node} · ${h.status} · up ${Math.round(h.uptimeMs / 1000)} s`);
  console.log(`threads: ${h.threads.map((t) => `${t.thread}=${t.status} (lag ${t.lagMs} ms)`).join(' ')}`);
  console.log(`members: ${h.members.map((m) => `${m.node} (${m.state})`).join(', ')}`);
  if (h.refusals !== undefined && h.refusals.length > 0) console.log(`refused links: ${h.refusals.map(describeRefusal).join(', ')}`);
}

/** `bad-secret from 127.0.0.1:53211 ×12, last 3 s ago` — one refused-link entry of /health. */
export function describeRefusal(r: { side: string; reason: string; peer: string; node?: string; count: number; agoMs: number }): string {
  const who = `${r.side === 'accepting' ? 'from' : 'to'} ${r.peer}${r.node === undefined ? '' : ` (${r.node})`}`;
  return `${r.reason} ${who}${r.count > 1 ? ` ×${r.count}` : ''}, last ${duration(r.agoMs)} ago`;
}
