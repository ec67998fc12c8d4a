/**
 * `apiary workflows list | show RUN | signal RUN NAME`: a running node's durable workflow runs,
 * through the admin API (`GET /workflows`, `GET /workflows/{runId}`,
 * `POST /workflows/{runId}/signals/{name}`).
 *
 * Owns: the sub-commands' flags and what they print (a table, one run's steps, or the API's
 * JSON with `--json`). Does not own the runs (the node's engine) or access (admin-client.ts).
 * A node that does not answer or refuses is one line and exit 1 (a CliError).
 */
import { parseArgs } from 'node:util';
import type { WorkflowRunInfo, WorkflowRunSummary } from '../node/workflow-source.js';
import { adminTarget, type AdminTarget } from './admin-client.js';
import { CliError, UsageError } from './usage.js';

const FLAGS = {
  http: { type: 'string' },
  'admin-token-file': { type: 'string' },
  json: { type: 'boolean', default: false },
  limit: { type: 'string' },
  payload: { type: 'string' },
} as const;

async function call(target: AdminTarget, path: string, init?: RequestInit): Promise<{ status: number; text: string }> {
  let res: Response;
  try {
    res = await fetch(`${target.base}${path}`, { ...init, headers: { ...target.headers, 'content-type': 'application/json' }, signal: AbortSignal.timeout(5000) });
  } catch {
    throw new CliError(`no node answers at ${target.base} (is one running with --http there?)`);
  }
  return { status: res.status, text: await res.text() };
}

function errorOf(status: number, text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    const message = body.error?.message ?? text.trim();
    return status === 401 ? `${message} (give it with --admin-token-file FILE or APIARY_ADMIN_TOKEN)` : `${message}${body.error?.code ? ` (${body.error.code})` : ''}`;
  } catch {
    return text.trim();
  }
}

const when = (ms: number | undefined): string => (ms === undefined ? '-' : new Date(ms).toISOString());

/** The runs as a table: id, definition, status, here (driven by the node), started, ended. */
export function renderRuns(runs: readonly WorkflowRunSummary[]): string {
  const rows = [['RUN', 'DEFINITION', 'STATUS', 'HERE', 'STARTED', 'ENDED'], ...runs.map((r) => [r.runId, r.definition, r.status, r.active ? 'yes' : 'no', when(r.startedAt), when(r.endedAt)])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n')}\n`;
}

/** One run: its header, each step (state, starts, value or error, wake-up), its signals. */
export function renderRun(run: WorkflowRunInfo): string {
  const lines = [`run ${run.runId} · ${run.definition} · ${run.status}${run.active ? ' (driven here)' : ''} · started ${when(run.startedAt)}${run.endedAt === undefined ? '' : ` · ended ${when(run.endedAt)}`}`];
  lines.push(`input: ${JSON.stringify(run.input)}`);
  for (const [id, s] of Object.entries(run.steps)) {
    const extra = [
      s.starts > 1 ? `started ${s.starts}×` : '',
      s.wakeAt !== undefined && s.state === 'running' ? `wakes ${when(s.wakeAt)}` : '',
      s.error !== undefined ? `${s.error.code ?? s.error.name}: ${s.error.message}` : '',
      s.value !== undefined ? `= ${JSON.stringify(s.value)}` : '',
    ].filter((x) => x !== '');
    lines.push(`  ${id}  ${s.state}${extra.length > 0 ? `  ${extra.join('  ')}` : ''}`);
  }
  for (const sig of run.signals) lines.push(`signal #${sig.seq} ${sig.name} ${JSON.stringify(sig.payload)} ${sig.consumedBy === undefined ? '(waiting for a step)' : `→ ${sig.consumedBy}`}`);
  if (run.cancelRequested && run.status === 'running') lines.push('cancel requested');
  return `${lines.join('\n')}\n`;
}

/**
 * Runs `apiary workflows SUB …`: resolves with exit code 0; throws a UsageError (exit 2) for a
 * bad sub-command or flag, a CliError (exit 1) when the node does not answer or refuses.
 */
export async function workflows(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: FLAGS });
  const [sub, ...args] = positionals;
  const target = adminTarget(values.http, values['admin-token-file']);
  const print = (text: string): void => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  switch (sub) {
    case 'list': {
      if (args.length > 0) throw new UsageError('workflows list: takes no RUN (see apiary workflows --help)');
      const query = values.limit === undefined ? '' : `?limit=${encodeURIComponent(values.limit)}`;
      const { status, text } = await call(target, `/workflows${query}`);
      if (status !== 200) throw new CliError(`cannot list workflow runs: ${errorOf(status, text)}`);
      print(values.json ? text : renderRuns((JSON.parse(text) as { runs: WorkflowRunSummary[] }).runs));
      return 0;
    }
    case 'show': {
      if (args.length !== 1) throw new UsageError('workflows show: one RUN (see apiary workflows --help)');
      const { status, text } = await call(target, `/workflows/${encodeURIComponent(args[0]!)}`);
      if (status !== 200) throw new CliError(`cannot show workflow run ${args[0]}: ${errorOf(status, text)}`);
      print(values.json ? text : renderRun(JSON.parse(text) as WorkflowRunInfo));
      return 0;
    }
    case 'signal': {
      if (args.length !== 2) throw new UsageError('workflows signal: RUN and NAME (see apiary workflows --help)');
      const [runId, name] = args as [string, string];
      if (values.payload !== undefined) {
        try {
          JSON.parse(values.payload);
        } catch {
          throw new UsageError('workflows signal: --payload must be JSON');
        }
      }
      const { status, text } = await call(target, `/workflows/${encodeURIComponent(runId)}/signals/${encodeURIComponent(name)}`, { method: 'POST', body: values.payload ?? 'null' });
      if (status !== 200) throw new CliError(`cannot signal workflow run ${runId}: ${errorOf(status, text)}`);
      print(values.json ? text : `signalled ${name} to ${runId}`);
      return 0;
    }
    default:
      throw new UsageError(sub === undefined ? 'workflows: list, show RUN or signal RUN NAME (see apiary workflows --help)' : `workflows: unknown sub-command '${sub}' (see apiary workflows --help)`);
  }
}
