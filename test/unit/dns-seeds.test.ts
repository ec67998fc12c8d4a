/**
 * DNS seeds (runtime/cluster/dns-seeds.ts): `dns:NAME:PORT` parsed strictly, resolved into
 * node URLs without this node's own, bounded — and, through the config schema, accepted where
 * a ws:// seed is.
 */
import { describe, expect, it } from 'vitest';
import { DNS_SEED_DEFAULTS, parseDnsSeed, resolveDnsSeed } from '../../runtime/cluster/dns-seeds.js';
import { checkConfig } from '../../runtime/config/schema.js';

describe('dns seeds', () => {
  it.each([
    ['dns:apiary-headless.swarm.svc.cluster.local:7401', { name: 'apiary-headless.swarm.svc.cluster.local', port: 7401 }],
    ['dns:localhost:1', { name: 'localhost', port: 1 }],
    ['dns:localhost:65536', undefined],
    ['dns:localhost', undefined],
    ['dns::7401', undefined],
    ['dns:bad_name!:7401', undefined],
    ['ws://localhost:7401', undefined],
  ])('%s parses to %j', (text, want) => {
    expect(parseDnsSeed(text)).toEqual(want);
  });

  it('resolves to one URL per address (IPv6 in brackets, wss with TLS), without this node’s own, at most maxAddresses', async () => {
    const resolve = async () => ['10.0.0.5', '10.0.0.6', 'fd00::7', '10.0.0.5'];
    expect(await resolveDnsSeed({ name: 'n', port: 7401 }, 'ws', 'ws://10.0.0.6:7401', resolve)).toEqual(['ws://10.0.0.5:7401', 'ws://[fd00::7]:7401']);
    expect(await resolveDnsSeed({ name: 'n', port: 7401 }, 'wss', '', resolve)).toEqual(['wss://10.0.0.5:7401', 'wss://10.0.0.6:7401', 'wss://[fd00::7]:7401']);
    const many = async () => Array.from({ length: 500 }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
    expect(await resolveDnsSeed({ name: 'n', port: 1 }, 'ws', '', many)).toHaveLength(DNS_SEED_DEFAULTS.maxAddresses);
  });

  it('resolves a real name through the system resolver (localhost)', async () => {
    const urls = await resolveDnsSeed({ name: 'localhost', port: 7401 }, 'ws', '');
    expect(urls.length).toBeGreaterThan(0);
    expect(urls.every((u) => /^ws:\/\/(127\.0\.0\.1|\[::1\]):7401$/.test(u))).toBe(true);
  });

  it('is a seed the config accepts; a malformed one is refused with the expectation', () => {
    expect(checkConfig({ seeds: ['dns:apiary.swarm:7401', 'ws://127.0.0.1:7401'] })).toEqual([]);
    const issues = checkConfig({ seeds: ['dns:apiary.swarm'] });
    expect(issues.map((i) => i.path.join('.'))).toEqual(['seeds.0']);
    expect(issues[0]!.expected).toMatch(/dns:NAME:PORT/);
  });
});
