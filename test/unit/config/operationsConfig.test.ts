import { expect } from 'chai';
import { ConfigError, DEFAULTS, loadConfig } from '../../../src/config.js';

describe('config: operations fields (WHIP, drain, SLO, public URL, client ICE servers)', () => {
  it('has documented defaults: no token, relative URLs, any origin, 4 subscribers, 60 s drain, 100 ms SLO', () => {
    expect(DEFAULTS).to.include({ whipToken: '', publicUrl: '', clientIceUsername: '', clientIceCredential: '', maxMaskSubscribers: 4, drainTimeoutMs: 60_000, latencySloMs: 100 });
    expect(DEFAULTS.corsAllowOrigins).to.deep.equal(['*']);
    expect(DEFAULTS.clientIceServers).to.deep.equal([]);
  });

  it('reads every new field from the environment and flags', () => {
    const c = loadConfig({
      env: {
        MASKSTREAM_WHIP_TOKEN: 'abcdefghijklmnop0123',
        MASKSTREAM_PUBLIC_URL: 'http://10.1.2.3:8080/',
        MASKSTREAM_CLIENT_ICE_SERVERS: 'turn:turn.example.com:3478?transport=udp, stun:stun.example.com',
        MASKSTREAM_CLIENT_ICE_USERNAME: 'user-1',
        MASKSTREAM_CLIENT_ICE_CREDENTIAL: 'pass-1',
        MASKSTREAM_CORS_ALLOW_ORIGINS: 'https://a.example,http://localhost:3000',
        MASKSTREAM_MAX_MASK_SUBSCRIBERS: '8',
      },
      argv: ['--drain-timeout-ms', '90000', '--latency-slo-ms=150'],
    });
    expect(c.whipToken).to.equal('abcdefghijklmnop0123');
    expect(c.publicUrl, 'trailing slash dropped').to.equal('http://10.1.2.3:8080');
    expect(c.clientIceServers).to.deep.equal(['turn:turn.example.com:3478?transport=udp', 'stun:stun.example.com']);
    expect(c.corsAllowOrigins).to.deep.equal(['https://a.example', 'http://localhost:3000']);
    expect(c).to.include({ clientIceUsername: 'user-1', clientIceCredential: 'pass-1', maxMaskSubscribers: 8, drainTimeoutMs: 90_000, latencySloMs: 150 });
  });

  it('rejects unusable values with a message naming the variable', () => {
    const bad: [NodeJS.ProcessEnv, RegExp][] = [
      [{ MASKSTREAM_WHIP_TOKEN: 'short' }, /MASKSTREAM_WHIP_TOKEN: must be 16-512/],
      [{ MASKSTREAM_WHIP_TOKEN: 'has spaces in it, sixteen+' }, /MASKSTREAM_WHIP_TOKEN/],
      [{ MASKSTREAM_PUBLIC_URL: 'ftp://x' }, /MASKSTREAM_PUBLIC_URL: .*http/],
      [{ MASKSTREAM_PUBLIC_URL: 'http://h/?q=1' }, /without query/],
      [{ MASKSTREAM_CLIENT_ICE_SERVERS: 'http://turn' }, /not a stun/],
      [{ MASKSTREAM_CLIENT_ICE_CREDENTIAL: 'a"b' }, /MASKSTREAM_CLIENT_ICE_CREDENTIAL: .*quotes/],
      [{ MASKSTREAM_CORS_ALLOW_ORIGINS: 'example.com' }, /not an origin/],
      [{ MASKSTREAM_MAX_MASK_SUBSCRIBERS: '1000' }, /MASKSTREAM_MAX_MASK_SUBSCRIBERS/],
      [{ MASKSTREAM_DRAIN_TIMEOUT_MS: '-1' }, /MASKSTREAM_DRAIN_TIMEOUT_MS/],
      [{ MASKSTREAM_LATENCY_SLO_MS: '0' }, /MASKSTREAM_LATENCY_SLO_MS/],
    ];
    for (const [env, re] of bad) expect(() => loadConfig({ env })).to.throw(ConfigError, re);
  });
});
