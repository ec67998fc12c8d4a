/**
 * The URL a node advertises to other nodes (runtime/cluster/advertise.ts), and that a real
 * node gossips it.
 */
import { describe, expect, it } from 'vitest';
import { ActorSystem } from '../../index.js';
import { advertisedUrl, type InterfaceAddresses } from '../../runtime/cluster/advertise.js';

const lo = { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' } as const;
const eth = { address: '10.1.2.3', netmask: '255.255.0.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: '10.1.2.3/16' } as const;
const eth6 = { address: 'fd00::5', netmask: 'ffff::', family: 'IPv6', mac: '02:00:00:00:00:01', internal: false, cidr: 'fd00::5/16', scopeid: 0 } as const;

describe('advertised URL', () => {
  it('is the listen address when peers can dial it', () => {
    expect(advertisedUrl('ws://127.0.0.1:4000', undefined, { lo: [lo] })).toBe('ws://127.0.0.1:4000');
  });

  it('is --advertise when given, with the listener scheme', () => {
    expect(advertisedUrl('wss://0.0.0.0:4000', 'node-1.swarm.svc:4000', { lo: [lo] })).toBe('wss://node-1.swarm.svc:4000');
    expect(advertisedUrl('ws://127.0.0.1:4000', '[fd00::5]:4100', {})).toBe('ws://[fd00::5]:4100');
  });

  it('for a wildcard listen address is this machine’s first non-internal address (IPv4 first), never 0.0.0.0', () => {
    const interfaces: InterfaceAddresses = { lo: [lo], eth0: [eth6, eth] };
    expect(advertisedUrl('ws://0.0.0.0:4000', undefined, interfaces)).toBe('ws://10.1.2.3:4000');
    expect(advertisedUrl('ws://[::]:4000', undefined, { lo: [lo], eth0: [eth6] })).toBe('ws://[fd00::5]:4000');
  });

  it('refuses a wildcard listen address on a machine with only loopback, and a malformed --advertise (ERR_INVALID_ARGUMENT)', () => {
    expect(() => advertisedUrl('ws://0.0.0.0:4000', undefined, { lo: [lo] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', field: 'cluster.advertise' }));
    expect(() => advertisedUrl('ws://127.0.0.1:4000', 'no-port', {})).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });

  it('is what a node listening on loopback with advertise reports as its URL and lists for itself', async () => {
    const system = new ActorSystem({
      name: 'adv',
      threads: 0,
      cluster: { listen: { host: '127.0.0.1', port: 0 }, advertise: 'localhost:4999', secret: new TextEncoder().encode('s') },
    });
    try {
      await system.ready();
      expect(system.cluster!.url).toBe('ws://localhost:4999');
      expect(system.members().find((m) => m.node === 'adv')?.url).toBe('ws://localhost:4999');
    } finally {
      await system.stop();
    }
  });
});
