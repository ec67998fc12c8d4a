/**
 * `apiary doctor`'s checks as functions over plain input: the secret rule, the Node.js
 * version, seeds and clock skew from probe results, which actors must load on other
 * threads, a port on an address this machine does not have, and the plain-text report.
 */
import { describe, expect, it } from 'vitest';
import { Actor, supervisor } from '../../index.js';
import {
  checkNodeVersion,
  checkPorts,
  checkSecret,
  checkSeeds,
  probeSeeds,
  checkSkew,
  checkStores,
  checkTls,
  renderReport,
  workerActorsOf,
  type CheckResult,
  type SeedProbe,
} from '../../runtime/cli/doctor.js';

const bytes = (n: number) => new Uint8Array(n).fill(65);

class Agent extends Actor {
  static readonly module = import.meta.url;
  receive(): void {}
}

describe('doctor: the cluster secret', () => {
  it.each([
    ['beyond loopback, 8 bytes', { host: '192.0.2.10', port: 7946 }, bytes(8), 'fail', /at least 16 random bytes/],
    ['beyond loopback, none', { host: '192.0.2.10', port: 7946 }, undefined, 'fail', /--secret-file/],
    ['beyond loopback, 32 bytes', { host: '192.0.2.10', port: 7946 }, bytes(32), 'pass', undefined],
    ['on loopback, 8 bytes', { host: '127.0.0.1', port: 7946 }, bytes(8), 'pass', undefined],
    ['on loopback, none', { host: '127.0.0.1', port: 7946 }, undefined, 'pass', undefined],
  ] as const)('listening %s: %s', (_what, listen, secret, status, fix) => {
    // --insecure: what start allows without a secret (loopback only); without it, see below
    const r = checkSecret({ listen, secret, seeds: [], insecure: true });
    expect(r.status).toBe(status);
    if (fix) expect(r.fix).toMatch(fix);
    else expect(r.fix).toBeUndefined();
  });

  it('fails without a secret and without --insecure, even on loopback (start refuses to listen)', () => {
    const r = checkSecret({ listen: { host: '127.0.0.1', port: 7946 }, secret: undefined, seeds: [] });
    expect(r).toMatchObject({ status: 'fail', detail: expect.stringMatching(/start refuses to listen/) });
    expect(r.fix).toMatch(/--secret-file/);
  });

  it('is skipped without node links, and fails when the secret file cannot be read', () => {
    expect(checkSecret({ listen: undefined, secret: undefined, seeds: [] }).status).toBe('skip');
    const r = checkSecret({ listen: undefined, secret: undefined, secretError: 'cannot read --secret-file /nope', seeds: [] });
    expect(r).toMatchObject({ status: 'fail', detail: 'cannot read --secret-file /nope' });
    expect(r.fix).toMatch(/openssl rand/);
  });
});

describe('doctor: TLS', () => {
  it.each([
    ['on loopback', { host: '127.0.0.1', port: 7946 }, false, 'pass'],
    ['beyond loopback', { host: '192.0.2.10', port: 7946 }, false, 'fail'],
    ['beyond loopback with --insecure', { host: '192.0.2.10', port: 7946 }, true, 'pass'],
  ] as const)('without a certificate, listening %s: %s', (_what, listen, insecure, status) => {
    const r = checkTls({ listen, seeds: [], insecure }, Date.now());
    expect(r.status).toBe(status);
    if (status === 'fail') expect(r.fix).toMatch(/--tls-cert and --tls-key .*or --insecure/);
  });

  it('fails on TLS files that cannot be read or do not load', () => {
    expect(checkTls({ listen: undefined, seeds: [], tlsError: 'cannot read a TLS file: ENOENT' }, Date.now())).toMatchObject({ status: 'fail', detail: 'cannot read a TLS file: ENOENT' });
    const garbage = checkTls({ listen: { host: '127.0.0.1', port: 7946 }, seeds: [], tls: { cert: 'not a cert', key: 'not a key' } }, Date.now());
    expect(garbage).toMatchObject({ status: 'fail', fix: 'give PEM files, and the key that belongs to the certificate' });
  });

  it('is skipped with no listen and no wss:// seeds', () => {
    expect(checkTls({ listen: undefined, seeds: ['ws://127.0.0.1:7401'] }, Date.now()).status).toBe('skip');
  });
});

describe('doctor: Node.js', () => {
  it.each([
    ['18.19.0', '>=20', 'fail'],
    ['20.0.0', '>=20', 'pass'],
    ['22.1.0', '>=20.6', 'pass'],
    ['20.5.1', '>=20.6', 'fail'],
    ['20.1.0', undefined, 'pass'],
  ] as const)('v%s against engines %s: %s', (nodeVersion, engines, status) => {
    const r = checkNodeVersion({ nodeVersion, engines });
    expect(r.status).toBe(status);
    if (status === 'fail') expect(r.fix).toMatch(/install Node\.js 20 or newer/);
  });
});

const ok = (url: string, peerTime: number, sentAt = 1_000_000, receivedAt = 1_000_004): SeedProbe => ({
  url,
  result: { ok: true, peer: { name: 'a', incarnation: 1 }, peerTime, sentAt, receivedAt },
});

describe('doctor: seeds and clock skew', () => {
  it('passes a seed that accepted the handshake and maps each failure to its fix', () => {
    const results = checkSeeds([
      ok('ws://127.0.0.1:1', 0),
      { url: 'ws://127.0.0.1:2', result: { ok: false, failure: 'unreachable', reason: 'connect ECONNREFUSED 127.0.0.1:2' } },
      { url: 'ws://127.0.0.1:3', result: { ok: false, failure: 'refused', reason: 'closed by the peer (1006) after our hello' } },
      { url: 'ws://127.0.0.1:4', result: { ok: false, failure: 'timeout', reason: 'no handshake within 3000 ms' } },
    ]);
    expect(results.map((r) => r.status)).toEqual(['pass', 'fail', 'fail', 'fail']);
    expect(results[1]!.fix).toMatch(/start the node at ws:\/\/127\.0\.0\.1:2 first, or fix --seeds/);
    expect(results[2]!.fix).toMatch(/same cluster secret on every node/);
    expect(results[3]!.fix).toMatch(/firewall/);
    expect(checkSeeds([])[0]!.status).toBe('skip');
  });

  it('does not dial a ws:// seed beyond loopback: the seed check fails with the TLS fix', async () => {
    const probes = await probeSeeds({ seeds: ['ws://192.0.2.10:7401'], name: 'n', secret: undefined, tls: undefined, insecure: false });
    expect(probes).toEqual([{ url: 'ws://192.0.2.10:7401', result: expect.objectContaining({ ok: false, failure: 'plaintext' }) }]);
    const [seed] = checkSeeds(probes);
    expect(seed).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^refused: .*not dialled/), fix: expect.stringMatching(/--tls-cert .* wss:\/\/ seed, or --insecure/) });
  });

  it('probes each address a dns:NAME:PORT seed resolves to, labelled with both', async () => {
    const probes = await probeSeeds({ seeds: ['dns:localhost:1'], name: 'n', secret: undefined, tls: undefined, insecure: false }, { probeTimeoutMs: 1000 });
    expect(probes.length).toBeGreaterThan(0);
    expect(probes.every((p) => /^dns:localhost:1 → ws:\/\/(127\.0\.0\.1|\[::1\]):1$/.test(p.url) && !p.result.ok)).toBe(true);
  });

  it('reports skew against the midpoint of the round trip and fails past the limit with the NTP fix', () => {
    const [near, far, gone] = checkSkew([
      ok('ws://127.0.0.1:1', 1_000_002 + 40),
      ok('ws://127.0.0.1:2', 1_000_002 - 5000),
      { url: 'ws://127.0.0.1:3', result: { ok: false, failure: 'timeout', reason: 'x' } },
    ]);
    expect(near).toMatchObject({ status: 'pass', data: { skewMs: 40, uncertaintyMs: 2 } });
    expect(far).toMatchObject({ status: 'fail', data: { skewMs: -5000 } });
    expect(far!.fix).toMatch(/NTP/);
    expect(gone!.status).toBe('skip');
  });
});

describe('doctor: worker modules and stores', () => {
  it('lists the actors placed on worker threads or other nodes, nested and templates included, not those on the main thread', () => {
    const spec = supervisor({
      children: [
        { id: 'main', actor: Agent },
        { id: 'zero', actor: Agent, thread: 0 },
        { id: 'w', actor: Agent, thread: 1 },
        { id: 'far', actor: Agent, node: 'b' },
        { id: 'inner', actor: supervisor({ children: [{ id: 'auto', actor: Agent, thread: 'auto' }] }) },
        { id: 'pool', actor: supervisor({ strategy: 'simple-one-for-one', template: { actor: Agent, thread: 'auto' } }) },
      ],
    });
    expect(workerActorsOf(spec).map((w) => w.path)).toEqual(['/app/w', '/app/far', '/app/inner/auto', '/app/pool/*']);
  });

  it('skips stores when none are configured and fails one that cannot be reached, with its fix', async () => {
    expect((await checkStores({ stores: [] }))[0]!.status).toBe('skip');
    const [r] = await checkStores({ stores: [{ name: 'journal', check: () => Promise.reject(new Error('ECONNREFUSED')) }] });
    expect(r).toMatchObject({ id: 'store:journal', status: 'fail', detail: 'ECONNREFUSED' });
    expect(r!.fix).toMatch(/store journal/);
  });
});

describe('doctor: ports and the report', () => {
  it('fails a port on an address this machine does not have without binding it', async () => {
    const [listen] = await checkPorts(
      { listen: { host: '192.0.2.10', port: 7946 }, http: { host: '127.0.0.1', port: 0 }, secret: bytes(32) },
      { localAddresses: ['127.0.0.1'] },
    );
    expect(listen).toMatchObject({ id: 'listen-port', status: 'fail', detail: '192.0.2.10 is not an address of this machine' });
    expect(listen!.fix).toMatch(/pass --listen with one of its addresses \(127\.0\.0\.1\)/);
  });

  it('fails --http on the --listen port', async () => {
    const [, http] = await checkPorts({ listen: { host: '127.0.0.1', port: 7000 }, http: { host: '127.0.0.1', port: 7000 }, secret: undefined }, { localAddresses: ['127.0.0.1'] });
    expect(http).toMatchObject({ id: 'http-port', status: 'fail', fix: 'give --http and --listen different ports' });
  });

  it('renders plain ASCII marks and a fix line under each failure', () => {
    const results: CheckResult[] = [
      { id: 'node', title: 'Node.js', status: 'pass', detail: 'v20' },
      { id: 'http-port', title: 'HTTP port', status: 'fail', detail: 'port 9464 is in use', fix: 'pass --http HOST:PORT' },
      { id: 'seeds', title: 'seeds', status: 'skip', detail: 'none' },
    ];
    const text = renderReport('demo', results, false);
    expect(text).toContain('\n  PASS  Node.js    v20\n');
    expect(text).toContain('\n  FAIL  HTTP port  port 9464 is in use\n                   fix: pass --http HOST:PORT\n');
    expect(text).toContain('\n  SKIP  seeds      none\n');
    expect(text).toMatch(/1 of 3 checks failed/);
    expect(text).not.toMatch(/\x1b/);
  });
});
