/**
 * When a node may accept node links (transport/link-policy.ts): a secret, or `insecure` on
 * loopback; TLS, or `insecure`, beyond loopback — as one matrix, asserted by code and field;
 * and when it may dial one (no ws:// beyond loopback without `insecure`).
 */
import { describe, expect, it } from 'vitest';
import { ActorSystem } from '../../runtime/node/actor-system.js';
import { checkListenPolicy, checkSeedsPolicy, dialRefusal, isLoopbackHost } from '../../transport/link-policy.js';

const secret = new TextEncoder().encode('a-cluster-secret');
const none = new Uint8Array(0);

describe('the listen policy', () => {
  it.each([
    ['a secret on loopback, plaintext', '127.0.0.1', secret, false, false, undefined],
    ['a secret beyond loopback, with TLS', '10.0.0.5', secret, true, false, undefined],
    ['a secret beyond loopback, plaintext', '10.0.0.5', secret, false, false, 'cluster.tls'],
    ['a secret beyond loopback, plaintext, insecure', '0.0.0.0', secret, false, true, undefined],
    ['no secret on loopback', '127.0.0.1', none, false, false, 'cluster.secret'],
    ['no secret on loopback, with TLS', 'localhost', none, true, false, 'cluster.secret'],
    ['no secret on loopback, insecure', '::1', none, false, true, undefined],
    ['no secret beyond loopback, insecure', '0.0.0.0', none, false, true, 'cluster.listen'],
    ['no secret beyond loopback, TLS and insecure', '10.0.0.5', none, true, true, 'cluster.listen'],
  ] as const)('%s: %s', (_what, host, key, tls, insecure, field) => {
    const check = () => checkListenPolicy({ host, secret: key, tls, insecure });
    if (field === undefined) expect(check).not.toThrow();
    else expect(check).toThrow(expect.objectContaining({ code: 'ERR_INSECURE_LISTEN', field }));
  });

  it.each([
    ['localhost', true],
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['[::1]', true],
    ['0.0.0.0', false],
    ['', false],
    ['127.example.com', false],
    ['10.0.0.5', false],
  ] as const)('%s is loopback: %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});

describe('the dial policy', () => {
  it.each([
    ['ws:// to loopback', 'ws://127.0.0.1:7401', false, undefined],
    ['ws:// to localhost', 'ws://localhost:7401', false, undefined],
    ['ws:// to [::1]', 'ws://[::1]:7401', false, undefined],
    ['wss:// beyond loopback', 'wss://10.0.0.5:7401', false, undefined],
    ['ws:// beyond loopback', 'ws://10.0.0.5:7401', false, 'plaintext'],
    ['ws:// to a name beyond loopback', 'ws://node-2.swarm.internal:7401', false, 'plaintext'],
    ['ws:// to an IPv6 address', 'ws://[fd00::5]:7401', false, 'plaintext'],
    ['ws:// beyond loopback, insecure', 'ws://10.0.0.5:7401', true, undefined],
  ] as const)('%s: %s', (_what, url, insecure, refusal) => {
    expect(dialRefusal(url, insecure)).toBe(refusal);
  });

  it('refuses a ws:// seed beyond loopback ERR_INSECURE_DIAL (field cluster.seeds) and takes the others', () => {
    expect(() => checkSeedsPolicy(['ws://127.0.0.1:1', 'wss://10.0.0.5:7401'], false)).not.toThrow();
    expect(() => checkSeedsPolicy(['ws://127.0.0.1:1', 'ws://10.0.0.5:7401'], false)).toThrow(expect.objectContaining({ code: 'ERR_INSECURE_DIAL', field: 'cluster.seeds' }));
    expect(() => checkSeedsPolicy(['ws://10.0.0.5:7401'], true)).not.toThrow();
  });

  it('makes new ActorSystem throw for such a seed before it dials anything', () => {
    expect(() => new ActorSystem({ name: 'a', cluster: { seeds: ['ws://192.0.2.10:7401'], secret: secret } })).toThrow(expect.objectContaining({ code: 'ERR_INSECURE_DIAL' }));
  });
});
