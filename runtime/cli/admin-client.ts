/**
 * The CLI's side of the admin API's access rules: where a running node's admin server is
 * (`--http`) and the bearer token to show it (`--admin-token-file F`, else
 * `APIARY_ADMIN_TOKEN`, else `APIARY_ADMIN_TOKEN_FILE`), as the headers of every request.
 *
 * Owns: finding the token and turning it into headers; the base URL. Does not own what a
 * verb asks or prints (inspect.ts, bench/http.ts). Sends no `Origin`: the CLI is not a page.
 * Reads the token file once, when the verb starts.
 */
import { readFileSync } from 'node:fs';
import { ADMIN_DEFAULTS, parseHostPort } from '../admin/admin-server.js';
import { UsageError } from './usage.js';

export interface AdminTarget {
  /** `http://HOST:PORT` (an IPv6 host in brackets). */
  base: string;
  /** `authorization: Bearer …` when a token was given; else empty. */
  headers: Record<string, string>;
}

/**
 * The admin server at `http` (default 127.0.0.1:9464) and the token for it. Throws a
 * UsageError (exit 2) for a token file that cannot be read or is empty, and
 * `ERR_INVALID_ARGUMENT` (also exit 2) for a bad `--http`.
 */
export function adminTarget(http: string | undefined, tokenFile: string | undefined, env: NodeJS.ProcessEnv = process.env): AdminTarget {
  const { host, port } = parseHostPort(http ?? `${ADMIN_DEFAULTS.host}:${ADMIN_DEFAULTS.port}`, '--http');
  const base = `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
  const token = adminToken(tokenFile, env);
  return { base, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } };
}

/** `--admin-token-file`, else APIARY_ADMIN_TOKEN, else APIARY_ADMIN_TOKEN_FILE (an empty variable counts as unset). */
function adminToken(flagFile: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (flagFile !== undefined) return readToken(flagFile, '--admin-token-file');
  if (env.APIARY_ADMIN_TOKEN !== undefined && env.APIARY_ADMIN_TOKEN !== '') return env.APIARY_ADMIN_TOKEN;
  const envFile = env.APIARY_ADMIN_TOKEN_FILE;
  return envFile !== undefined && envFile !== '' ? readToken(envFile, 'APIARY_ADMIN_TOKEN_FILE') : undefined;
}

function readToken(path: string, from: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`${from}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  const token = text.replace(/\r?\n$/, '');
  if (token.length === 0) throw new UsageError(`${from}: ${path} is empty`);
  return token;
}
