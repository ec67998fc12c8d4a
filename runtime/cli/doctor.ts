/**
 * `apiary doctor [same flags as start] [--json]`: checks what `apiary start` with the same
 * flags needs, before starting it — Node version, free ports, the cluster secret, TLS (files
 * load, key matches, dates, signed by the CA; plaintext beyond loopback), each seed
 * (reachable, handshake accepted, clock skew), worker actor modules, stores — and says how
 * to fix each failure. Exit 0 when nothing failed, 1 otherwise, 2 on bad usage.
 *
 * Owns: the checks, as functions over a plain {@link DoctorInput} (so they can be run and
 * tested without a command line), building that input from the flags, and the report
 * (a table, or JSON with `--json`).
 * Does not own: starting anything. It binds each port only to test it (and closes it at
 * once), and probes seeds with a handshake that never joins the cluster
 * (transport/node-link.ts `probeNodeLink`).
 * Time: wall-clock only (probes, skew); bounded by DOCTOR_DEFAULTS timeouts.
 */
import { packageInfo } from './package-info.js';
import { X509Certificate } from 'node:crypto';
import { createServer, isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { ActorClass } from '../../actors/actor.js';
import { RealClock, type Clock } from '../../actors/foundation/clock.js';
import { isSupervisorSpec, type SupervisorSpec } from '../../supervisor/child-spec.js';
import { PROTOCOL_VERSION, probeNodeLink, type ProbeResult } from '../../transport/node-link.js';
import { dialRefusal, pemOf, type LinkTls } from '../../transport/link-policy.js';
import { parseDnsSeed, resolveDnsSeed } from '../cluster/dns-seeds.js';
import { ADMIN_DEFAULTS, parseHostPort } from '../admin/admin-server.js';
import { actorModuleOf, type ActorModuleRef } from '../threads/actor-module.js';
import { resolveConfig, START_FLAGS, type ResolvedConfig } from '../config/resolve.js';
import { isLoopback, readTlsFiles } from '../config/build-options.js';
import { ConfigError } from '../config/config-error.js';
import { UsageError } from './usage.js';
import { parseStoreSpec, probeStore } from '../persistence/open-store.js';

/** The limits and timeouts of `apiary doctor`'s checks. */
export const DOCTOR_DEFAULTS = {
  /** A secret shorter than this (bytes) fails when the node listens beyond loopback. */
  minSecretBytes: 16,
  /** Clock skew against a seed beyond this (ms, after the round-trip uncertainty) fails. */
  maxClockSkewMs: 1000,
  /** How long a seed may take to answer the probe handshake, ms. */
  probeTimeoutMs: 3000,
  /** How long a worker thread may take to load the actor modules, ms. */
  moduleTimeoutMs: 10_000,
  /** The Node.js major version required when package.json's `engines` cannot be read. */
  minNodeMajor: 20,
} as const;

/** `fail` makes `apiary doctor` exit 1; `skip`: nothing to check (no seeds, no config…). */
export type CheckStatus = 'pass' | 'fail' | 'skip';

/** One line of the report. `fix` is set on every failure: what to do about it. */
export interface CheckResult {
  /** Stable id, e.g. `node`, `http-port`, `seed:ws://h:p`, `skew:ws://h:p`, `module:/app/llm`. */
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
  /** Numbers a machine may want (`--json`): skew, round trip… */
  data?: Record<string, unknown>;
}

/** An actor the config places on a worker thread or another node: its module must load there. */
export interface WorkerActor {
  /** Its path in the tree (`/app/…`). */
  path: string;
  actor: ActorClass;
}

/**
 * A store the node is configured with (`--store`): `check` resolves when the store is
 * reachable and writable, else rejects with why.
 */
export interface StoreProbe {
  name: string;
  check(): Promise<void>;
}

/** What doctor checks, as plain data (built from the flags by {@link doctorInput}). */
export interface DoctorInput {
  /** `process.versions.node`. */
  nodeVersion: string;
  /** package.json `engines.node` (e.g. `>=20`), if readable. */
  engines: string | undefined;
  name: string;
  /** `--listen` as given (undefined: the node does not accept links). */
  listen: { host: string; port: number } | undefined;
  http: { host: string; port: number };
  secret: Uint8Array | undefined;
  /** Why the secret could not be read (`--secret-file`), if it could not. */
  secretError?: string;
  /** `--insecure`: links without a secret (loopback only) or in plaintext beyond loopback allowed. */
  insecure?: boolean;
  /** The TLS material (`--tls-cert`, `--tls-key`, `--tls-ca`) as read, if given. */
  tls?: LinkTls;
  /** Why the TLS files could not be read, if they could not. */
  tlsError?: string;
  seeds: string[];
  /** The config module, if any: its file and whether it loaded. */
  config: { file: string; error?: string } | undefined;
  workerActors: WorkerActor[];
  stores: StoreProbe[];
}

/** Overrides for tests and embedders (clock, timeouts, this machine's addresses). */
export interface DoctorOptions {
  clock?: Clock;
  probeTimeoutMs?: number;
  moduleTimeoutMs?: number;
  /** The addresses of this machine (default: os.networkInterfaces()). */
  localAddresses?: string[];
}

// ---- the checks ------------------------------------------------------------------------------

/** Node.js at least the `engines` version. */
export function checkNodeVersion(input: Pick<DoctorInput, 'nodeVersion' | 'engines'>): CheckResult {
  const want = /^\s*>=\s*(\d+)(?:\.(\d+))?/.exec(input.engines ?? '');
  const [wantMajor, wantMinor] = want ? [Number(want[1]), Number(want[2] ?? 0)] : [DOCTOR_DEFAULTS.minNodeMajor, 0];
  const [major, minor] = input.nodeVersion.split('.').map(Number) as [number, number];
  const required = input.engines ?? `>=${DOCTOR_DEFAULTS.minNodeMajor}`;
  const ok = major > wantMajor || (major === wantMajor && minor >= wantMinor);
  return ok
    ? { id: 'node', title: 'Node.js', status: 'pass', detail: `v${input.nodeVersion} (needs ${required})` }
    : { id: 'node', title: 'Node.js', status: 'fail', detail: `v${input.nodeVersion} is too old (needs ${required})`, fix: `install Node.js ${wantMajor} or newer (e.g. nvm install ${wantMajor})` };
}

/** The config module loaded (or none: the demo swarm). */
export function checkConfig(input: Pick<DoctorInput, 'config' | 'workerActors'>): CheckResult {
  if (input.config === undefined) return { id: 'config', title: 'config', status: 'skip', detail: 'no --config (and no apiary.config.js/.mjs here): start runs the demo swarm' };
  if (input.config.error !== undefined) {
    return { id: 'config', title: 'config', status: 'fail', detail: input.config.error, fix: `fix ${input.config.file}: it must load and export { supervisor: supervisor({...}) } (default export)` };
  }
  return { id: 'config', title: 'config', status: 'pass', detail: `${input.config.file} loads (${input.workerActors.length} actor(s) off the main thread)` };
}

/** Where `start` would bind node links: a node without a secret keeps to loopback. */
function listenAddress(input: Pick<DoctorInput, 'listen' | 'secret'>): { host: string; port: number } | undefined {
  const l = input.listen;
  if (l === undefined || input.secret !== undefined || isLoopback(l.host)) return l;
  return { host: '127.0.0.1', port: l.port };
}

/** The ports `--listen` and `--http` are free (each bound once and closed; nothing else). */
export async function checkPorts(input: Pick<DoctorInput, 'listen' | 'http' | 'secret'>, options: DoctorOptions = {}): Promise<CheckResult[]> {
  const local = options.localAddresses ?? localAddresses();
  const listen = listenAddress(input);
  const out: CheckResult[] = [];
  if (listen === undefined) out.push({ id: 'listen-port', title: 'listen port', status: 'skip', detail: 'no --listen: this node accepts no node links' });
  else out.push(await checkPort('listen-port', 'listen port', '--listen', listen, local));
  if (listen !== undefined && listen.port !== 0 && listen.port === input.http.port && (listen.host === input.http.host || isWildcard(listen.host) || isWildcard(input.http.host))) {
    out.push({
      id: 'http-port',
      title: 'HTTP port',
      status: 'fail',
      detail: `--http ${input.http.host}:${input.http.port} is the --listen port`,
      fix: 'give --http and --listen different ports',
    });
  } else out.push(await checkPort('http-port', 'HTTP port', '--http', input.http, local));
  return out;
}

async function checkPort(id: string, title: string, flag: string, at: { host: string; port: number }, local: string[]): Promise<CheckResult> {
  const where = `${at.host}:${at.port}`;
  if (isIP(at.host) !== 0 && !isWildcard(at.host) && !local.includes(at.host)) {
    return { id, title, status: 'fail', detail: `${at.host} is not an address of this machine`, fix: `pass ${flag} with one of its addresses (${local.join(', ')}), or 0.0.0.0 for all` };
  }
  if (at.port === 0) return { id, title, status: 'pass', detail: `${where}: any free port` };
  const err = await bindOnce(at.host, at.port);
  if (err === undefined) return { id, title, status: 'pass', detail: `${where} is free` };
  if (err.code === 'EADDRINUSE') {
    return { id, title, status: 'fail', detail: `port ${at.port} is in use (${where})`, fix: `pass ${flag} HOST:PORT with a free port, or stop the process using port ${at.port}` };
  }
  if (err.code === 'EACCES') {
    return { id, title, status: 'fail', detail: `port ${at.port} needs privileges (${where})`, fix: `pass ${flag} HOST:PORT with a port of 1024 or more` };
  }
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
    return { id, title, status: 'fail', detail: `${at.host} is not an address of this machine (${err.code})`, fix: `pass ${flag} with one of its addresses, or 0.0.0.0 for all` };
  }
  return { id, title, status: 'fail', detail: `cannot bind ${where}: ${err.message}`, fix: `pass ${flag} HOST:PORT with an address and port this machine can bind` };
}

/** Binds `host:port` and closes it; resolves with the error, if any. */
function bindOnce(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

function localAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((a) => a.address);
}

/**
 * The cluster secret: present when the node listens (`start` refuses to listen without one
 * unless `--insecure`, and then on loopback only), and at least `minSecretBytes` when it
 * listens beyond loopback (anyone who can reach the port could otherwise join).
 */
export function checkSecret(input: Pick<DoctorInput, 'listen' | 'secret' | 'secretError' | 'seeds' | 'insecure'>): CheckResult {
  const base = { id: 'secret', title: 'cluster secret' };
  const howTo = 'write a random secret to a file (e.g. openssl rand -base64 32 > apiary.secret) and pass --secret-file apiary.secret to every node, or set APIARY_SECRET';
  if (input.secretError !== undefined) return { ...base, status: 'fail', detail: input.secretError, fix: howTo };
  const beyond = input.listen !== undefined && !isLoopback(input.listen.host);
  const bytes = input.secret?.byteLength;
  if (input.listen !== undefined && bytes === undefined && input.insecure !== true) {
    return { ...base, status: 'fail', detail: `none: start refuses to listen on ${input.listen.host}:${input.listen.port} without one (or --insecure, loopback only)`, fix: howTo };
  }
  if (beyond && bytes === undefined) {
    return { ...base, status: 'fail', detail: `none: a node without a secret listens on loopback only (start binds 127.0.0.1:${input.listen!.port}, not ${input.listen!.host})`, fix: howTo };
  }
  if (beyond && bytes! < DOCTOR_DEFAULTS.minSecretBytes) {
    return {
      ...base,
      status: 'fail',
      detail: `${bytes} bytes: too short for a node reachable beyond loopback (${input.listen!.host})`,
      fix: `use a secret of at least ${DOCTOR_DEFAULTS.minSecretBytes} random bytes, the same on every node (e.g. openssl rand -base64 32 > apiary.secret; --secret-file apiary.secret)`,
    };
  }
  if (input.listen === undefined && input.seeds.length === 0) return { ...base, status: 'skip', detail: 'no node links (no --listen, no --seeds)' };
  if (bytes === undefined) return { ...base, status: 'pass', detail: input.listen === undefined ? 'none: this node only dials out' : 'none (--insecure): node links on loopback only, unauthenticated' };
  return { ...base, status: 'pass', detail: `${bytes} bytes${beyond ? '' : ' (loopback)'}` };
}

/**
 * TLS: the files load as a certificate and its key, the certificate is within its dates and
 * signed by `--tls-ca` when given; without TLS, plaintext links beyond loopback fail unless
 * `--insecure` (start refuses them). `nowMs`: wall-clock ms to check the dates against.
 */
export function checkTls(input: Pick<DoctorInput, 'listen' | 'seeds' | 'insecure' | 'tls' | 'tlsError'>, nowMs: number): CheckResult {
  const base = { id: 'tls', title: 'TLS' };
  const howTo = 'pass --tls-cert and --tls-key (PEM files of this node\'s certificate and key), and --tls-ca with the CA that signed every node\'s certificate for mutual TLS';
  if (input.tlsError !== undefined) return { ...base, status: 'fail', detail: input.tlsError, fix: howTo };
  const tls = input.tls;
  if (tls === undefined) {
    const wss = input.seeds.filter((u) => u.startsWith('wss://'));
    if (input.listen === undefined) {
      return wss.length > 0
        ? { ...base, status: 'pass', detail: `no certificate: wss:// seeds are verified against the system's CAs (${wss.length})` }
        : { ...base, status: 'skip', detail: 'no --listen and no wss:// seeds' };
    }
    if (isLoopback(input.listen.host)) return { ...base, status: 'pass', detail: 'none: plaintext ws:// on loopback' };
    if (input.insecure === true) return { ...base, status: 'pass', detail: `none: plaintext ws:// on ${input.listen.host} (--insecure)` };
    return { ...base, status: 'fail', detail: `none: start refuses plaintext node links on ${input.listen.host} (beyond loopback)`, fix: `${howTo}; or --insecure to allow ws:// there` };
  }
  try {
    createSecureContext({ cert: pemOf(tls.cert), key: pemOf(tls.key), ...(tls.ca === undefined ? {} : { ca: pemOf(tls.ca) }) });
  } catch (err) {
    return { ...base, status: 'fail', detail: `the certificate, key or CA does not load: ${(err as Error).message}`, fix: 'give PEM files, and the key that belongs to the certificate' };
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pemOf(tls.cert));
  } catch (err) {
    return { ...base, status: 'fail', detail: `--tls-cert is not a certificate: ${(err as Error).message}`, fix: 'give a PEM certificate (-----BEGIN CERTIFICATE-----)' };
  }
  const from = Date.parse(cert.validFrom);
  const until = Date.parse(cert.validTo);
  if (nowMs < from || nowMs > until) {
    return { ...base, status: 'fail', detail: `the certificate is valid from ${cert.validFrom} to ${cert.validTo}, not now`, fix: 'issue this node a certificate valid now (and keep the clock right)' };
  }
  let mutual = '';
  if (tls.ca !== undefined) {
    let ca: X509Certificate;
    try {
      ca = new X509Certificate(pemOf(tls.ca));
    } catch (err) {
      return { ...base, status: 'fail', detail: `--tls-ca is not a certificate: ${(err as Error).message}`, fix: 'give the CA certificate in PEM' };
    }
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
      return { ...base, status: 'fail', detail: `the certificate (${cert.subject.replace(/\n/g, ', ')}) is not signed by --tls-ca (${ca.subject.replace(/\n/g, ', ')})`, fix: 'sign every node\'s certificate with the CA given as --tls-ca' };
    }
    mutual = ' · mutual TLS: peers need a certificate signed by --tls-ca';
  }
  const names = cert.subjectAltName ?? cert.subject.replace(/\n/g, ', ');
  return { ...base, status: 'pass', detail: `wss:// · ${names} · valid until ${cert.validTo}${mutual}`, data: { validTo: cert.validTo, mutual: tls.ca !== undefined } };
}

/** What probing one seed found (`plaintext`: not dialled — ws:// beyond loopback without --insecure). */
export interface SeedProbe {
  url: string;
  result: ProbeResult | { ok: false; failure: 'plaintext'; reason: string };
}

/** Probes every seed with the real handshake, in parallel (never joins: see probeNodeLink). */
export async function probeSeeds(input: Pick<DoctorInput, 'seeds' | 'secret' | 'name' | 'tls' | 'insecure'>, options: DoctorOptions = {}): Promise<SeedProbe[]> {
  const clock = options.clock ?? new RealClock();
  const self = { name: `${input.name}-doctor`, incarnation: Math.floor(clock.wallTime()), secret: input.secret ?? new Uint8Array(0) };
  const timeout = options.probeTimeoutMs ?? DOCTOR_DEFAULTS.probeTimeoutMs;
  const tls = input.tls === undefined ? {} : { tls: input.tls };
  // a dns:NAME:PORT seed: each address it resolves to now (none: one failed probe saying so)
  const urls: { url: string; label: string }[] = [];
  const unresolved: SeedProbe[] = [];
  for (const seed of input.seeds) {
    const dns = parseDnsSeed(seed);
    if (dns === undefined) {
      urls.push({ url: seed, label: seed });
      continue;
    }
    try {
      const found = await resolveDnsSeed(dns, input.tls === undefined ? 'ws' : 'wss', '');
      if (found.length === 0) throw new Error('no addresses');
      for (const url of found) urls.push({ url, label: `${seed} → ${url}` });
    } catch (err) {
      unresolved.push({ url: seed, result: { ok: false, failure: 'unreachable', reason: `${dns.name} does not resolve: ${(err as Error).message}` } as ProbeResult });
    }
  }
  const probed = await Promise.all(
    urls.map(async ({ url, label }): Promise<SeedProbe> => {
      if (dialRefusal(url, input.insecure === true) !== undefined) return { url: label, result: { ok: false, failure: 'plaintext', reason: 'a plaintext (ws://) link beyond loopback: not dialled' } };
      return { url: label, result: await probeNodeLink(url, self, { clock, handshakeTimeoutMs: timeout, ...tls }) };
    }),
  );
  return [...unresolved, ...probed];
}

/** Each seed reachable and its handshake accepted. */
export function checkSeeds(probes: SeedProbe[]): CheckResult[] {
  if (probes.length === 0) return [{ id: 'seeds', title: 'seeds', status: 'skip', detail: 'no --seeds: this node starts a cluster or runs alone' }];
  return probes.map(({ url, result: r }): CheckResult => {
    const base = { id: `seed:${url}`, title: `seed ${url}` };
    if (r.ok) {
      return { ...base, status: 'pass', detail: `node ${r.peer.name} accepted the handshake (round trip ${r.receivedAt - r.sentAt} ms)`, data: { node: r.peer.name, incarnation: r.peer.incarnation, rttMs: r.receivedAt - r.sentAt } };
    }
    const fix = {
      unreachable: `start the node at ${url} first, or fix --seeds (ws://HOST:PORT of a node's --listen address; wss:// for a node with TLS, verified against --tls-ca)`,
      timeout: `check that ${url} is a node's --listen address and that no firewall drops it`,
      refused: 'the seed refused our handshake: use the same cluster secret on every node (--secret-file or APIARY_SECRET)',
      protocol: `point --seeds at the --listen address of a node running this apiary version (node protocol ${PROTOCOL_VERSION})`,
      unauthenticated: `the node at ${url} does not hold our secret: use the same secret on every node (or something else answers at that address)`,
      plaintext: 'start refuses it: give every node --tls-cert and --tls-key and use a wss:// seed, or --insecure to allow ws:// there',
    }[r.failure];
    const what = { unreachable: 'unreachable', timeout: 'no answer', refused: 'handshake refused', protocol: 'not a compatible apiary node', unauthenticated: 'handshake not authenticated', plaintext: 'refused' }[r.failure];
    return { ...base, status: 'fail', detail: `${what}: ${r.reason}`, fix, data: { failure: r.failure } };
  });
}

/**
 * Clock skew against each seed that answered: its authenticated wall-clock time against the
 * midpoint of our round trip (± half the round trip).
 */
export function checkSkew(probes: SeedProbe[], maxSkewMs: number = DOCTOR_DEFAULTS.maxClockSkewMs): CheckResult[] {
  if (probes.length === 0) return [{ id: 'skew', title: 'clock skew', status: 'skip', detail: 'no --seeds to compare with' }];
  return probes.map(({ url, result: r }): CheckResult => {
    const base = { id: `skew:${url}`, title: `clock skew ${url}` };
    if (!r.ok) return { ...base, status: 'skip', detail: 'the seed did not answer the probe' };
    const skewMs = Math.round(r.peerTime - (r.sentAt + r.receivedAt) / 2);
    const uncertaintyMs = Math.ceil((r.receivedAt - r.sentAt) / 2);
    const detail = `${skewMs >= 0 ? '+' : ''}${skewMs} ms (± ${uncertaintyMs} ms) against node ${r.peer.name}`;
    const data = { skewMs, uncertaintyMs, node: r.peer.name };
    if (Math.abs(skewMs) - uncertaintyMs <= maxSkewMs) return { ...base, status: 'pass', detail, data };
    return { ...base, status: 'fail', detail: `${detail}: more than ${maxSkewMs} ms`, fix: 'synchronise the clocks of this machine and the seed (NTP: chrony or systemd-timesyncd)', data };
  });
}

/** The actors a spec places off the main thread (`thread` ≠ 0 or `node`): their modules must load elsewhere. */
export function workerActorsOf(spec: SupervisorSpec, path = '/app'): WorkerActor[] {
  const out: WorkerActor[] = [];
  const offMain = (c: { thread?: number | 'auto' | undefined; node?: string | undefined }) => (c.thread !== undefined && c.thread !== 0) || c.node !== undefined;
  for (const child of spec.children) {
    const at = `${path}/${child.id}`;
    if (isSupervisorSpec(child.actor)) out.push(...workerActorsOf(child.actor, at));
    else if (offMain(child)) out.push({ path: at, actor: child.actor });
  }
  const t = spec.template;
  if (t !== undefined && !isSupervisorSpec(t.actor) && offMain(t)) out.push({ path: `${path}/*`, actor: t.actor });
  return out;
}

/**
 * Each worker actor's class: it names its module (`static module`), that module exports it
 * (checked here), and the module loads on a worker thread with the export there (checked in
 * one short-lived worker, as a node's threads load it).
 */
export async function checkWorkerModules(input: Pick<DoctorInput, 'workerActors' | 'config'>, options: DoctorOptions = {}): Promise<CheckResult[]> {
  if (input.workerActors.length === 0) {
    const why = input.config === undefined ? 'no --config: the demo swarm ships with apiary' : 'the config places no actor on a worker thread or another node';
    return [{ id: 'modules', title: 'worker modules', status: 'skip', detail: why }];
  }
  const resolved: { w: WorkerActor; ref?: ActorModuleRef; error?: string }[] = [];
  for (const w of input.workerActors) {
    try {
      resolved.push({ w, ref: await actorModuleOf(w.actor) });
    } catch (err) {
      resolved.push({ w, error: (err as Error).message });
    }
  }
  const refs = resolved.flatMap((r) => (r.ref ? [r.ref] : []));
  const onWorker = await loadOnWorker(refs, options.moduleTimeoutMs ?? DOCTOR_DEFAULTS.moduleTimeoutMs);
  return resolved.map(({ w, ref, error }): CheckResult => {
    const base = { id: `module:${w.path}`, title: `module ${w.path}` };
    const name = w.actor.name || 'the class';
    if (ref === undefined) {
      return { ...base, status: 'fail', detail: error ?? 'cannot be resolved', fix: `give ${name} a static module (static readonly module = import.meta.url) and export it from that module` };
    }
    const workerError = onWorker.get(`${ref.module}#${ref.exportName}`);
    if (workerError !== undefined) {
      return { ...base, status: 'fail', detail: `does not load on a worker thread: ${workerError}`, fix: `make ${shortModule(ref.module)} loadable on its own (no top-level work that needs the main thread; TypeScript under tsx: node --import tsx)` };
    }
    return { ...base, status: 'pass', detail: `${name} from ${shortModule(ref.module)} loads on a worker thread` };
  });
}

/** Imports each module in one worker thread; the map holds an error per `module#export` that failed. */
async function loadOnWorker(refs: ActorModuleRef[], timeoutMs: number): Promise<Map<string, string>> {
  const failed = new Map<string, string>();
  if (refs.length === 0) return failed;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      const out = [];
      for (const { module, exportName } of workerData) {
        try {
          const m = await import(module);
          out.push(typeof m[exportName] === 'function' ? null : 'no export ' + exportName);
        } catch (e) {
          out.push(String((e && e.message) || e));
        }
      }
      parentPort.postMessage(out);
    })();`;
  const worker = new Worker(code, { eval: true, workerData: refs, stdout: true, stderr: true });
  try {
    const answers = await new Promise<(string | null)[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      worker.once('message', (m: (string | null)[]) => (clearTimeout(timer), resolve(m)));
      worker.once('error', (e) => (clearTimeout(timer), reject(e)));
      worker.once('exit', (c) => (clearTimeout(timer), reject(new Error(`the worker exited (${c})`))));
    });
    refs.forEach((r, i) => answers[i] != null && failed.set(`${r.module}#${r.exportName}`, answers[i]!));
  } catch (err) {
    for (const r of refs) failed.set(`${r.module}#${r.exportName}`, (err as Error).message);
  } finally {
    await worker.terminate();
  }
  return failed;
}

function shortModule(url: string): string {
  try {
    return url.startsWith('file:') ? fileURLToPath(url) : url;
  } catch {
    return url;
  }
}

/** Configured stores reachable and writable (`--store`: runtime/persistence/open-store.ts probeStore). */
export async function checkStores(input: Pick<DoctorInput, 'stores'>): Promise<CheckResult[]> {
  if (input.stores.length === 0) return [{ id: 'stores', title: 'stores', status: 'skip', detail: 'no stores configured' }];
  return Promise.all(
    input.stores.map(async (s): Promise<CheckResult> => {
      try {
        await s.check();
        return { id: `store:${s.name}`, title: `store ${s.name}`, status: 'pass', detail: 'reachable and writable' };
      } catch (err) {
        return { id: `store:${s.name}`, title: `store ${s.name}`, status: 'fail', detail: (err as Error).message, fix: `check the address, credentials and free space of store ${s.name}` };
      }
    }),
  );
}

/** Every check, in report order. */
export async function runDoctor(input: DoctorInput, options: DoctorOptions = {}): Promise<CheckResult[]> {
  const [ports, probes, modules, stores] = await Promise.all([checkPorts(input, options), probeSeeds(input, options), checkWorkerModules(input, options), checkStores(input)]);
  const now = (options.clock ?? new RealClock()).wallTime();
  return [checkNodeVersion(input), checkConfig(input), ...ports, checkSecret(input), checkTls(input, now), ...checkSeeds(probes), ...checkSkew(probes), ...modules, ...stores];
}

// ---- the report --------------------------------------------------------------------------------

/** The report as a table: a mark per check (✓ ✗ – on a colour terminal, PASS FAIL SKIP otherwise) and each failure's fix. */
export function renderReport(name: string, results: CheckResult[], fancy: boolean): string {
  const plain = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' };
  const mark = fancy ? { pass: '\x1b[32m✓\x1b[0m', fail: '\x1b[31m✗\x1b[0m', skip: '\x1b[2m–\x1b[0m' } : plain;
  const markWidth = fancy ? 1 : 4;
  const width = Math.max(...results.map((r) => r.title.length));
  const lines = [`apiary doctor: node ${name}`, ''];
  for (const r of results) {
    lines.push(`  ${mark[r.status]}  ${r.title.padEnd(width)}  ${r.detail}`);
    if (r.fix !== undefined) lines.push(`  ${' '.repeat(markWidth)}  ${' '.repeat(width)}  fix: ${r.fix}`);
  }
  const failed = results.filter((r) => r.status === 'fail').length;
  lines.push('', failed === 0 ? `no check failed (${results.filter((r) => r.status === 'pass').length} passed)` : `${failed} of ${results.length} checks failed`);
  return `${lines.join('\n')}\n`;
}

// ---- the command -------------------------------------------------------------------------------

/**
 * The input from `apiary start`'s flags, environment and config file, resolved as `start`
 * resolves them (runtime/config/resolve.ts). A config that does not resolve — a bad value,
 * an unreadable secret file, a module without a supervisor — is a failed check, not bad usage.
 */
export async function doctorInput(argv: string[], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Promise<DoctorInput> {
  const base = { nodeVersion: process.versions.node, engines: packageInfo().nodeRange, workerActors: [] as WorkerActor[], stores: [] };
  let resolved: ResolvedConfig;
  try {
    resolved = await resolveConfig({ argv, env, cwd });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // a bad value on the command line is bad usage; one in a file or the environment is a failed check
    if (err.issues.every((i) => i.source.kind === 'flag')) throw new UsageError(err.message);
    // what the flags alone say, so the other checks still run
    return {
      ...base,
      name: 'apiary',
      listen: undefined,
      http: { host: ADMIN_DEFAULTS.host, port: ADMIN_DEFAULTS.port },
      secret: undefined,
      seeds: [],
      config: { file: '(flags, environment and config file)', error: err.message },
    };
  }
  const { config, supervisor, file } = resolved;
  let tls: { tls?: LinkTls; tlsError?: string } = {};
  try {
    const read = readTlsFiles(config);
    if (read !== undefined) tls = { tls: read };
  } catch (err) {
    tls = { tlsError: `cannot read a TLS file: ${(err as Error).message}` };
  }
  return {
    ...base,
    name: config.name,
    listen: config.listen === undefined ? undefined : parseHostPort(config.listen, '--listen'),
    http: parseHostPort(config.http, '--http'),
    secret: config.secret === undefined ? undefined : new TextEncoder().encode(config.secret),
    insecure: config.insecure === true,
    ...tls,
    seeds: config.seeds ?? [],
    config: file === undefined ? undefined : { file },
    workerActors: supervisor === undefined ? [] : workerActorsOf(supervisor),
    stores: config.store === undefined ? [] : [storeProbe(config.store, cwd, config.name)],
  };
}

/** The `--store` of the node as a probe: opens (and closes) it as `start` would, creating nothing. */
function storeProbe(text: string, cwd: string, node: string): StoreProbe {
  return { name: text, check: () => probeStore(parseStoreSpec(text, cwd, node)) };
}

export async function doctor(argv: string[]): Promise<number> {
  // bad usage (an unknown flag, a flag without its value) exits 2; bad values are failed checks
  const { values } = parseArgs({ args: argv, options: { ...START_FLAGS, json: { type: 'boolean' } }, strict: true, allowPositionals: false });
  const input = await doctorInput(argv.filter((a) => a !== '--json'));
  const json = values.json === true;
  const results = await runDoctor(input);
  const ok = results.every((r) => r.status !== 'fail');
  if (json) process.stdout.write(`${JSON.stringify({ node: input.name, ok, checks: results }, null, 2)}\n`);
  else process.stdout.write(renderReport(input.name, results, process.stdout.isTTY === true && !process.env.NO_COLOR));
  return ok ? 0 : 1;
}
