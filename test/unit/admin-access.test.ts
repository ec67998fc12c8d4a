/**
 * Who may use the admin API, as pure rules over a request's headers: the Host guard against
 * DNS rebinding, the Origin guard against browser pages, the bearer token; and the config
 * fields and the loopback rule that feed them.
 */
import { describe, expect, it } from 'vitest';
import { adminAccess, checkRequestSource, checkToken, isLoopbackHost } from '../../runtime/admin/admin-access.js';
import { checkCombined, checkConfig } from '../../runtime/config/schema.js';

const access = adminAccess({ bindHost: '127.0.0.1', hosts: ['admin.internal', '.ops.example.com'], origins: ['https://dash.example.com'], token: 'tok' });

describe('the Host guard (DNS rebinding)', () => {
  it.each([
    ['127.0.0.1:9464'],
    ['localhost:9464'],
    ['LOCALHOST'],
    ['app.localhost:9464'],
    ['[::1]:9464'],
    ['10.0.0.5:9464'],
    ['admin.internal:9464'],
    ['node1.ops.example.com'],
    ['ops.example.com'],
  ])('serves Host %s', (host) => {
    expect(checkRequestSource(access, { host })).toBeUndefined();
  });

  it.each([['attacker.example'], ['attacker.example:9464'], ['127.0.0.1.attacker.example'], ['evilops.example.com'], [''], ['a b'], [undefined]])(
    'refuses Host %s with 421 ERR_HOST_NOT_ALLOWED',
    (host) => {
      expect(checkRequestSource(access, host === undefined ? {} : { host })).toMatchObject({ status: 421, code: 'ERR_HOST_NOT_ALLOWED' });
    },
  );

  it('accepts the name the server is bound to', () => {
    const bound = adminAccess({ bindHost: 'node1.lan' });
    expect(checkRequestSource(bound, { host: 'node1.lan:9464' })).toBeUndefined();
    expect(checkRequestSource(bound, { host: 'node2.lan:9464' })).toMatchObject({ code: 'ERR_HOST_NOT_ALLOWED' });
  });
});

describe('the Origin guard (browser pages)', () => {
  const host = '127.0.0.1:9464';
  it.each([
    ['no Origin (a script, curl, the CLI)', {}],
    ['its own origin', { origin: 'http://127.0.0.1:9464' }],
    ['a configured origin', { origin: 'https://dash.example.com', 'sec-fetch-site': 'cross-site' }],
    ['a same-origin fetch metadata', { 'sec-fetch-site': 'same-origin' }],
    ['a typed-in address', { 'sec-fetch-site': 'none' }],
  ])('serves %s', (_what, headers) => {
    expect(checkRequestSource(access, { host, ...headers })).toBeUndefined();
  });

  it.each([
    ['another site', { origin: 'http://evil.example' }],
    ['its own host on another port', { origin: 'http://127.0.0.1:8080' }],
    ['https for its http origin', { origin: 'https://127.0.0.1:9464' }],
    ['Origin: null (a sandboxed page, a file)', { origin: 'null' }],
    ['a cross-site page without Origin', { 'sec-fetch-site': 'cross-site' }],
    ['a same-site page without Origin', { 'sec-fetch-site': 'same-site' }],
  ])('refuses %s with 403 ERR_ORIGIN_NOT_ALLOWED', (_what, headers) => {
    expect(checkRequestSource(access, { host, ...headers })).toMatchObject({ status: 403, code: 'ERR_ORIGIN_NOT_ALLOWED' });
  });
});

describe('the bearer token', () => {
  it.each([
    ['no Authorization', undefined],
    ['another token', 'Bearer tok2'],
    ['a prefix of it', 'Bearer to'],
    ['another scheme', 'Basic tok'],
    ['the bare token', 'tok'],
  ])('refuses %s with 401 ERR_UNAUTHORIZED', (_what, authorization) => {
    expect(checkToken(access, authorization === undefined ? {} : { authorization })).toMatchObject({ status: 401, code: 'ERR_UNAUTHORIZED' });
  });

  it('accepts the token (scheme in any case) and asks for nothing when none is set', () => {
    expect(checkToken(access, { authorization: 'Bearer tok' })).toBeUndefined();
    expect(checkToken(access, { authorization: 'bearer tok' })).toBeUndefined();
    expect(checkToken(adminAccess({ bindHost: '127.0.0.1' }), {})).toBeUndefined();
  });

  it('refuses an empty token and an origin that is not one, naming the option', () => {
    expect(() => adminAccess({ bindHost: '127.0.0.1', token: '' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', field: 'token' }));
    expect(() => adminAccess({ bindHost: '127.0.0.1', origins: ['https://a.example/path'] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', field: 'origins' }));
  });
});

describe('the admin fields of a node config', () => {
  it.each([['127.0.0.1'], ['127.1.2.3'], ['localhost'], ['::1'], ['[::1]'], ['::ffff:127.0.0.1']])('%s is loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each([['0.0.0.0'], ['::'], ['10.0.0.5'], ['node1.lan'], ['128.0.0.1']])('%s is not loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });

  it('allows http beyond loopback only with an admin token', () => {
    expect(checkCombined({ http: '0.0.0.0:9464' })).toEqual([{ path: ['http'], expected: expect.stringMatching(/^a loopback address unless an admin token is set/), received: '0.0.0.0:9464' }]);
    expect(checkCombined({ http: '0.0.0.0:9464', adminToken: 'tok' })).toEqual([]);
    for (const http of ['127.0.0.1:9464', 'localhost:0', ':9464', '9464', '[::1]:9464']) expect([http, checkCombined({ http })]).toEqual([http, []]);
  });

  it('checks adminHosts as host names and adminOrigins as origins', () => {
    expect(checkConfig({ adminHosts: ['admin.internal', '.ops.example.com', '[::1]'], adminOrigins: ['https://dash.example.com', 'http://10.0.0.5:9464'] })).toEqual([]);
    expect(checkConfig({ adminHosts: ['http://admin.internal', 'admin.internal:9464'], adminOrigins: ['dash.example.com', 'https://dash.example.com/app'] }).map((i) => i.path.join('.'))).toEqual([
      'adminHosts.0',
      'adminHosts.1',
      'adminOrigins.0',
      'adminOrigins.1',
    ]);
  });
});
