/**
 * `apiary tasks list|show|retry|purge`: a running node's durable tasks, through its admin API
 * (runtime/admin/task-routes.ts) with the admin token rules of every CLI verb (admin-client.ts).
 *
 * Owns: the sub-commands, their flags and what they print (a table, or the API's JSON with
 * `--json`). A node that does not answer or refuses, an unknown task (ERR_TASK_NOT_FOUND) or a
 * refused retry is one line on stderr and exit 1 (CliError); bad usage exits 2 (UsageError).
 */
import { parseArgs } from 'node:util';
import { adminTarget, type AdminTarget } from './admin-client.js';
import { CliError, UsageError } from './usage.js';

const SUBCOMMANDS = ['list', 'show', 'retry', 'purge'] as const;

async function call(target: AdminTarget, path: string, method = 'GET'): Promise<{ status: number; body: any }> {
  let res: Response;
  try {
    res = await fetch(`${target.base}${path}`, { method, headers: target.headers, signal: AbortSignal.timeout(10_000) });
  } catch {
    throw new CliError(`no node answers at ${target.base} (is one running with --http there?)`);
  }
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = { error: { message: text.trim() } };
  }
  if (res.status >= 400) {
    const e = body?.error as { code?: string; message?: string } | undefined;
    const hint = res.status === 401 ? ' (give it with --admin-token-file FILE or APIARY_ADMIN_TOKEN)' : '';
    throw new CliError(`${e?.code ?? res.status}: ${e?.message ?? 'refused'}${hint}`);
  }
  return { status: res.status, body };
}

function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

function iso(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString();
}

/** The `list` table: one line per task. */
export function renderTaskList(body: { tasks: Record<string, any>[]; counts: Record<string, number> }): string {
  const rows = body.tasks.map((t) => [t.id, t.queue, t.state, t.priority, String(t.attempts), iso(t.updatedAt)]);
  const head = ['ID', 'QUEUE', 'STATE', 'PRIORITY', 'ATTEMPTS', 'UPDATED'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const counts = Object.entries(body.counts).map(([s, n]) => `${s}=${n}`).join(' ');
  return `${[line(head), ...rows.map(line)].join('\n')}\n${rows.length} shown · ${counts}\n`;
}

/** The `show` text: one field per line. */
export function renderTask(t: Record<string, any>): string {
  const lines = [
    `task ${t.id}`,
    `queue       ${t.queue}`,
    `state       ${t.state}`,
    `priority    ${t.priority}`,
    `attempts    ${t.attempts} of ${t.retry?.maxAttempts ?? '?'}`,
    `payload     ${JSON.stringify(t.payload)}`,
  ];
  if (t.idempotencyKey !== undefined) lines.push(`key         ${t.idempotencyKey}`);
  if (t.lease !== undefined) lines.push(`lease       ${t.lease.owner} until ${iso(t.lease.until)}`);
  if (t.result !== undefined) lines.push(`result      ${JSON.stringify(t.result)}`);
  if (t.error !== undefined) lines.push(`error       ${t.error.code ?? t.error.name}: ${t.error.message}`);
  lines.push(`created     ${iso(t.createdAt)}`, `started     ${iso(t.startedAt)}`, `finished    ${iso(t.finishedAt)}`, `run at      ${iso(t.runAt)}`);
  if (t.deadline !== undefined) lines.push(`deadline    ${iso(t.deadline)}`);
  return `${lines.join('\n')}\n`;
}

/** Runs `apiary tasks …`; resolves 0, or rejects a CliError (exit 1) or UsageError (exit 2). */
export async function tasksCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      http: { type: 'string' },
      'admin-token-file': { type: 'string' },
      queue: { type: 'string' },
      state: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const [sub, ...rest] = positionals;
  if (sub === undefined || !(SUBCOMMANDS as readonly string[]).includes(sub)) {
    throw new UsageError(`tasks: ${sub === undefined ? 'missing' : `unknown`} sub-command${sub === undefined ? '' : ` '${sub}'`}: list, show, retry or purge (see apiary tasks --help)`);
  }
  const id = rest[0];
  if (rest.length > 1) throw new UsageError(`tasks ${sub}: one ID only (see apiary tasks --help)`);
  if ((sub === 'show' || sub === 'retry') && id === undefined) throw new UsageError(`tasks ${sub}: missing ID (see apiary tasks --help)`);
  if (sub === 'list' && id !== undefined) throw new UsageError('tasks list takes no ID (see apiary tasks --help)');
  if (values.limit !== undefined && !/^\d+$/.test(values.limit)) throw new UsageError(`tasks: --limit must be a number, got '${values.limit}'`);
  const target = adminTarget(values.http, values['admin-token-file']);
  const out = (body: unknown, text: () => string) => process.stdout.write(values.json ? `${JSON.stringify(body, null, 2)}\n` : text());
  if (sub === 'list') {
    const { body } = await call(target, `/tasks${query({ queue: values.queue, state: values.state, limit: values.limit })}`);
    out(body, () => renderTaskList(body));
  } else if (sub === 'show') {
    const { body } = await call(target, `/tasks/${encodeURIComponent(id!)}`);
    out(body, () => renderTask(body));
  } else if (sub === 'retry') {
    const { body } = await call(target, `/tasks/${encodeURIComponent(id!)}/retry`, 'POST');
    out(body, () => `task ${body.id} queued again (${body.queue})\n`);
  } else {
    const { body } =
      id !== undefined
        ? await call(target, `/tasks/${encodeURIComponent(id)}`, 'DELETE')
        : await call(target, `/tasks/purge${query({ queue: values.queue, state: values.state })}`, 'POST');
    out(body, () => `purged ${body.purged} task${body.purged === 1 ? '' : 's'}\n`);
  }
  return 0;
}
