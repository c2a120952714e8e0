import { expect } from 'chai';
import type { IncomingMessage } from 'node:http';
import { Authenticator, mintToken, verifyToken, TokenMintError, bearerToken } from '../../../src/signaling/auth.js';
import { clientIp, IpLimiter, MAX_TRACKED_IPS } from '../../../src/signaling/ipLimits.js';
import { originAllowed } from '../../../src/signaling/access.js';
import { checkOffer, declaredPixels, MAX_SESSION_CANDIDATES } from '../../../src/signaling/offerCheck.js';
import { ConfigError, DEFAULTS, loadConfig } from '../../../src/config.js';

const SECRET = 'unit-test-secret-0123456789-abcdefghij';
const ID = '3f2c1a9e-8b7d-4c6e-9f01-23456789abcd';
const OTHER = '00000000-0000-4000-8000-000000000000';

describe('signaling/auth tokens and scopes', () => {
  const now = 1_800_000_000_000;

  it('mints and verifies signed tokens: scopes, expiry, tampering, wrong secret', () => {
    const t = mintToken(SECRET, { scope: `publish session:${ID}`, ttlS: 60, sub: 'app-1', nowMs: now });
    expect(t).to.match(/^ms1\.[\w-]+\.[\w-]+$/);
    expect(verifyToken(SECRET, t, now)).to.deep.equal({ scopes: ['publish', `session:${ID}`], exp: now / 1000 + 60, sub: 'app-1' });
    expect(verifyToken(SECRET, t, now + 60_000)).to.equal('expired_token');
    expect(verifyToken('another-secret-0123456789-abcdefghijkl', t, now)).to.equal('invalid_token');
    const [p, payload, sig] = t.split('.');
    const forged = Buffer.from(JSON.stringify({ scope: 'publish', exp: now / 1000 + 99999 })).toString('base64url');
    expect(verifyToken(SECRET, `${p}.${forged}.${sig}`, now), 'payload swapped').to.equal('invalid_token');
    expect(verifyToken(SECRET, `${p}.${payload}`, now)).to.equal('invalid_token');
    expect(() => mintToken('short', { scope: 'publish', ttlS: 60 })).to.throw(TokenMintError, /at least 32/);
    expect(() => mintToken(SECRET, { scope: 'admin', ttlS: 60 })).to.throw(TokenMintError, /scope/);
    expect(() => mintToken(SECRET, { scope: 'session:not-a-uuid', ttlS: 60 })).to.throw(TokenMintError);
    expect(() => mintToken(SECRET, { scope: 'publish', ttlS: 0 })).to.throw(TokenMintError, /ttlS/);
  });

  it('requires tokens per endpoint: strict with authTokens/authSecret, legacy whipToken leaves ws open, none = open', () => {
    expect(new Authenticator({ staticTokens: [] }).required('ws')).to.equal(false);
    const legacy = new Authenticator({ staticTokens: [], whipToken: 'legacy-token-0123456789' });
    expect([legacy.required('ws'), legacy.required('whip'), legacy.required('masks')]).to.deep.equal([false, true, true]);
    expect(legacy.authenticate('whip', 'legacy-token-0123456789').ok).to.equal(true);
    const strict = new Authenticator({ staticTokens: [], secret: SECRET });
    expect([strict.required('ws'), strict.required('whip'), strict.required('masks')]).to.deep.equal([true, true, true]);
    expect(new Authenticator({ staticTokens: [] }).authenticate('masks', undefined)).to.deep.include({ ok: true });
  });

  it('authorizes publish and session access: static = all, owner = its sessions, session token = read one', () => {
    const a = new Authenticator({ staticTokens: ['static-token-0123456789'], secret: SECRET, now: () => now });
    const pub = mintToken(SECRET, { scope: 'publish', ttlS: 60, sub: 'publisher-1', nowMs: now });
    const pub2 = mintToken(SECRET, { scope: 'publish', ttlS: 60, sub: 'publisher-2', nowMs: now });
    const viewer = mintToken(SECRET, { scope: `session:${ID}`, ttlS: 60, nowMs: now });
    const r = a.authorizePublish('ws', pub);
    expect(r.ok).to.equal(true);
    if (r.ok) a.bindOwner(ID, r.principal);
    expect(a.authorizeSession('masks', pub, ID, 'read').ok, 'owner reads').to.equal(true);
    expect(a.authorizeSession('whip', pub, ID, 'manage').ok, 'owner manages').to.equal(true);
    expect(a.authorizeSession('masks', pub2, ID, 'read')).to.deep.include({ ok: false, status: 403, failure: 'insufficient_scope' });
    expect(a.authorizeSession('masks', viewer, ID, 'read').ok, 'viewer reads').to.equal(true);
    expect(a.authorizeSession('whip', viewer, ID, 'manage').ok, 'viewer may not manage').to.equal(false);
    expect(a.authorizeSession('masks', viewer, OTHER, 'read').ok, 'viewer of another session').to.equal(false);
    expect(a.authorizePublish('ws', viewer)).to.deep.include({ ok: false, status: 403 });
    expect(a.authorizeSession('masks', 'static-token-0123456789', OTHER, 'read').ok).to.equal(true);
    expect(a.authenticate('ws', undefined)).to.deep.include({ ok: false, failure: 'missing_token', status: 401 });
    expect(a.authenticate('ws', 'ms1.garbage.garbage')).to.deep.include({ ok: false, failure: 'invalid_token' });
    expect(a.ownedSessions).to.equal(1);
    a.releaseOwner(ID);
    expect(a.ownedSessions).to.equal(0);
    expect(a.authorizeSession('masks', pub, ID, 'read').ok, 'ownership ends with the session').to.equal(false);
    expect(bearerToken('Bearer abc')).to.equal('abc');
  });
});

describe('signaling/ipLimits', () => {
  it('limits concurrent sessions per IP and frees a slot on release (once)', () => {
    const l = new IpLimiter({ maxConcurrent: 2, perMinute: 0, now: () => 0 });
    const a = l.admit('1.2.3.4');
    const b = l.admit('1.2.3.4');
    expect([a.ok, b.ok]).to.deep.equal([true, true]);
    expect(l.admit('1.2.3.4')).to.deep.include({ ok: false, reason: 'ip_limit' });
    expect(l.admit('5.6.7.8').ok, 'other address').to.equal(true);
    if (a.ok) {
      a.release();
      a.release();
    }
    expect(l.admit('1.2.3.4').ok).to.equal(true);
    expect(l.admit('1.2.3.4').ok, 'double release did not free two slots').to.equal(false);
  });

  it('limits the creation rate with a token bucket and says when to retry', () => {
    let t = 0;
    const l = new IpLimiter({ maxConcurrent: 0, perMinute: 6, now: () => t });
    for (let i = 0; i < 6; i++) {
      const r = l.admit('9.9.9.9');
      expect(r.ok).to.equal(true);
      if (r.ok) r.release();
    }
    const refused = l.admit('9.9.9.9');
    expect(refused).to.deep.include({ ok: false, reason: 'rate_limited', retryAfterS: 10 });
    t += 10_000; // one token back (6 a minute)
    expect(l.admit('9.9.9.9').ok).to.equal(true);
    expect(l.admit('9.9.9.9').ok).to.equal(false);
  });

  it('forgets idle addresses (bounded memory)', () => {
    let t = 0;
    const l = new IpLimiter({ maxConcurrent: 1, perMinute: 60, now: () => t });
    const r = l.admit('1.1.1.1');
    expect(l.trackedIps).to.equal(1);
    t += 60_000;
    if (r.ok) r.release();
    expect(l.trackedIps, 'full bucket and no session: dropped').to.equal(0);
    expect(MAX_TRACKED_IPS).to.be.at.least(10_000);
  });

  it('takes the client address from the TCP peer, or the trusted proxy hop of X-Forwarded-For', () => {
    const req = (remote: string, xff?: string) => ({ socket: { remoteAddress: remote }, headers: xff ? { 'x-forwarded-for': xff } : {} }) as unknown as IncomingMessage;
    expect(clientIp(req('::ffff:10.0.0.1'), 0)).to.equal('10.0.0.1');
    expect(clientIp(req('10.0.0.1', '6.6.6.6'), 0), 'untrusted header ignored').to.equal('10.0.0.1');
    expect(clientIp(req('10.0.0.1', 'spoofed, 7.7.7.7'), 1)).to.equal('7.7.7.7');
    expect(clientIp(req('10.0.0.1', 'client, 7.7.7.7, 10.9.9.9'), 2)).to.equal('7.7.7.7');
    expect(clientIp(req('10.0.0.1', '7.7.7.7'), 3), 'fewer hops than trusted: the leftmost').to.equal('7.7.7.7');
  });
});

describe('signaling/access origin check', () => {
  it('allows non-browser clients, same origin by default, listed origins or *', () => {
    expect(originAllowed(undefined, 'a.example:8080', [])).to.equal(true);
    expect(originAllowed('https://a.example:8080', 'a.example:8080', [])).to.equal(true);
    expect(originAllowed('https://A.example:8080', 'a.example:8080', []), 'host compared case-insensitively').to.equal(true);
    expect(originAllowed('https://evil.example', 'a.example:8080', [])).to.equal(false);
    expect(originAllowed('null', 'a.example', [])).to.equal(false);
    expect(originAllowed('https://app.example', 'a.example', ['https://app.example'])).to.equal(true);
    expect(originAllowed('https://a.example', 'a.example', ['https://app.example']), 'a list replaces same-origin').to.equal(false);
    expect(originAllowed('https://anything.example', 'a.example', ['*'])).to.equal(true);
  });
});

describe('signaling/offerCheck', () => {
  const L = { maxFramePixels: 1920 * 1088 };
  const base = 'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n';
  it('names what is wrong with an offer', () => {
    expect(checkOffer(base, L)).to.equal(undefined);
    expect(checkOffer('v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\na=rtpmap:102 H264/90000\r\n', L)).to.equal(undefined);
    expect(checkOffer('hello', L)?.kind).to.equal('not_sdp');
    expect(checkOffer('v=0\r\nnot sdp\r\n', L)?.message).to.match(/line 2/);
    expect(checkOffer('v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 98\r\na=rtpmap:98 VP9/90000\r\n', L)?.kind).to.equal('unsupported_codec');
    expect(checkOffer('v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n', L)?.kind).to.equal('no_video');
    expect(checkOffer('v=0\r\n' + 'm=video 9 UDP/TLS/RTP/SAVPF 96\r\n'.repeat(9), L)?.kind).to.equal('too_many_media');
    expect(checkOffer(base + 'a=candidate:1 1 udp 1 10.0.0.1 9 typ host\r\n'.repeat(MAX_SESSION_CANDIDATES + 1), L)?.kind).to.equal('too_many_candidates');
    expect(checkOffer(base + 'a=imageattr:96 send [x=3840,y=2160] recv *\r\n', L)?.kind).to.equal('resolution_too_large');
    expect(checkOffer(base + 'a=imageattr:96 send [x=1280,y=720] recv [x=[320:16:1920],y=[240:16:1080]]\r\n', L)).to.equal(undefined);
  });

  it('reads imageattr ranges and lists and 3GPP framesize', () => {
    expect(declaredPixels('a=imageattr:96 send [x=640,y=480]')).to.equal(640 * 480);
    expect(declaredPixels('a=imageattr:* send [x=[320:16:1280],y=[240:16:720]] [x=1920,y=1080]')).to.equal(1920 * 1080);
    expect(declaredPixels('a=imageattr:96 recv [x=[320,640],y=[240,480]]')).to.equal(640 * 480);
    expect(declaredPixels('a=framesize:96 1280-720')).to.equal(1280 * 720);
    expect(declaredPixels('a=framesize:96 99999-0')).to.equal(Infinity);
    expect(declaredPixels('a=imageattr:96 send *')).to.equal(0);
  });
});

describe('config: reliability and security fields', () => {
  it('has documented defaults: no tokens, same-origin WebSockets, 8 sessions and 60/min per IP, no proxy trusted', () => {
    expect(DEFAULTS).to.include({ authSecret: '', ipMaxSessions: 8, ipSessionsPerMinute: 60, trustProxyHops: 0 });
    expect(DEFAULTS.authTokens).to.deep.equal([]);
    expect(DEFAULTS.wsAllowOrigins).to.deep.equal([]);
  });

  it('reads them from the environment and flags, and rejects bad values naming the variable', () => {
    const c = loadConfig({
      env: { MASKSTREAM_AUTH_TOKENS: 'token-one-0123456789, token-two-0123456789', MASKSTREAM_AUTH_SECRET: SECRET, MASKSTREAM_WS_ALLOW_ORIGINS: 'https://app.example' },
      argv: ['--ip-max-sessions', '3', '--ip-sessions-per-minute=20', '--trust-proxy-hops', '1'],
    });
    expect(c.authTokens).to.deep.equal(['token-one-0123456789', 'token-two-0123456789']);
    expect(c).to.include({ authSecret: SECRET, ipMaxSessions: 3, ipSessionsPerMinute: 20, trustProxyHops: 1 });
    expect(c.wsAllowOrigins).to.deep.equal(['https://app.example']);
    const bad: [NodeJS.ProcessEnv, RegExp][] = [
      [{ MASKSTREAM_AUTH_TOKENS: 'short' }, /MASKSTREAM_AUTH_TOKENS: each token/],
      [{ MASKSTREAM_AUTH_SECRET: 'too-short' }, /MASKSTREAM_AUTH_SECRET: must be 32/],
      [{ MASKSTREAM_WS_ALLOW_ORIGINS: 'app.example' }, /not an origin/],
      [{ MASKSTREAM_IP_MAX_SESSIONS: '-1' }, /MASKSTREAM_IP_MAX_SESSIONS/],
      [{ MASKSTREAM_TRUST_PROXY_HOPS: '11' }, /MASKSTREAM_TRUST_PROXY_HOPS/],
    ];
    for (const [env, re] of bad) expect(() => loadConfig({ env })).to.throw(ConfigError, re);
  });
});
