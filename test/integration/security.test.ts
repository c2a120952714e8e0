/**
 * Security of the three entry points against a real server: bearer tokens (static list and
 * HMAC-signed, expiring, scoped to `publish` or one session) on WebSocket signaling, WHIP and
 * mask subscriptions; the browser Origin check; per-IP session rate and count limits (also
 * behind a trusted proxy); and no secrets, SDP or candidates in the info-level log.
 */
import { expect } from 'chai';
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../../src/main.js';
import { createLogger } from '../../src/observability/logger.js';
import { mintToken } from '../../src/signaling/auth.js';
import { deadOffer, metricValue, SignalClient, upgradeStatus } from '../helpers/signalClient.js';
import { LOADED_MS, waitFor } from '../helpers/waitFor.js';

const STATIC = 'static-token-0123456789abcdef';
const SECRET = 'hmac-secret-for-tests-0123456789-abcdefghij';

/** Opens a subscriber socket; resolves with the HTTP status that refused it, or 101. */
function subscribe(url: string, id: string, opts: { token?: string; query?: string; origin?: string } = {}): Promise<number> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.origin) headers.Origin = opts.origin;
  return upgradeStatus(new WebSocket(`${url.replace(/^http/, 'ws')}/sessions/${id}/masks${opts.query ?? ''}`, { headers }));
}

describe('security: tokens, scopes, origin, per-IP limits, logs', function () {
  this.timeout(300_000);
  const logs: string[] = [];
  let server: RunningServer;
  let offer: string;
  const clients: SignalClient[] = [];
  const publishA = mintToken(SECRET, { scope: 'publish', ttlS: 600, sub: 'a' });
  const publishB = mintToken(SECRET, { scope: 'publish', ttlS: 600, sub: 'b' });
  const open = async (opts: Parameters<typeof SignalClient.open>[1] = {}) => {
    const c = await SignalClient.open(server.url, opts);
    clients.push(c);
    return c;
  };
  /** A session created over WebSocket with `token`; resolves with its id. */
  const createWs = async (token: string | undefined, opts: Parameters<typeof SignalClient.open>[1] = {}) => {
    const c = await open(opts);
    c.send({ type: 'offer', sdp: offer, ...(token ? { token } : {}) });
    const m = await c.next((x) => x.type === 'answer' || x.type === 'error');
    return { c, m, id: m.type === 'answer' ? m.sessionId : undefined };
  };

  before(async () => {
    offer = await deadOffer();
    const logger = createLogger('info', {}, (line) => logs.push(line));
    server = await startServer({ port: 0, host: '127.0.0.1', authTokens: [STATIC], authSecret: SECRET, maxSessions: 20, ipMaxSessions: 0, ipSessionsPerMinute: 0 }, { logger });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    server.registry.closeAll('shutdown');
    await waitFor(() => server.registry.size === 0, LOADED_MS);
  });
  after(async () => {
    await server?.close();
  });

  it('WebSocket signaling: no, invalid or expired token → unauthorized and closed; a session token may not publish → forbidden', async () => {
    const expired = mintToken(SECRET, { scope: 'publish', ttlS: 1, nowMs: Date.now() - 10_000 });
    const cases: [string | undefined, string, RegExp][] = [
      [undefined, 'unauthorized', /needs a bearer token/],
      ['not-a-valid-token-at-all-0000', 'unauthorized', /not valid/],
      [expired, 'unauthorized', /expired/],
      [mintToken(SECRET, { scope: 'publish', ttlS: 600 }).replace(/.$/, 'x'), 'unauthorized', /not valid/],
      [mintToken(SECRET, { scope: 'session:00000000-0000-4000-8000-000000000000', ttlS: 600 }), 'forbidden', /publish/],
    ];
    for (const [token, code, re] of cases) {
      const { c, m } = await createWs(token);
      expect(m, String(token)).to.deep.include({ type: 'error', code });
      expect((m as { message: string }).message).to.match(re);
      expect((await c.whenClosed()).code).to.equal(1008);
    }
    expect(server.registry.size).to.equal(0);
    expect(await metricValue(server.url, 'maskstream_access_denied_total', 'reason="expired_token"')).to.be.at.least(1);
    expect(await metricValue(server.url, 'maskstream_access_denied_total', 'reason="insufficient_scope"')).to.be.at.least(1);
    expect(await metricValue(server.url, 'maskstream_signaling_errors_total', 'code="unauthorized"')).to.be.at.least(4);
  });

  it('WebSocket signaling: a static token or a signed publish token (offer field, ?token= or Authorization header) gets an answer', async () => {
    expect((await createWs(STATIC)).m.type).to.equal('answer');
    expect((await createWs(publishA)).m.type).to.equal('answer');
    expect((await createWs(undefined, { query: `?token=${encodeURIComponent(publishB)}` })).m.type).to.equal('answer');
    expect((await createWs(undefined, { headers: { Authorization: `Bearer ${STATIC}` } })).m.type).to.equal('answer');
    expect(server.registry.size).to.equal(4);
  });

  it('mask subscriptions: the owner, a session-scoped token and static tokens may read; others 401/403', async () => {
    const { id } = await createWs(publishA);
    const { id: other } = await createWs(publishB);
    expect(id).to.be.a('string');
    const url = server.url;
    expect(await subscribe(url, id!), 'no token').to.equal(401);
    expect(await subscribe(url, id!, { token: 'not-a-valid-token-at-all-0000' }), 'invalid token').to.equal(401);
    expect(await subscribe(url, id!, { token: publishA }), 'owner (the token that created it)').to.equal(101);
    expect(await subscribe(url, id!, { token: publishB }), 'another publisher').to.equal(403);
    expect(await subscribe(url, id!, { token: mintToken(SECRET, { scope: `session:${id}`, ttlS: 60 }) }), 'viewer token for this session').to.equal(101);
    expect(await subscribe(url, id!, { query: `?token=${mintToken(SECRET, { scope: `session:${id}`, ttlS: 60 })}` }), 'viewer token in the query').to.equal(101);
    expect(await subscribe(url, id!, { token: mintToken(SECRET, { scope: `session:${other}`, ttlS: 60 }) }), 'viewer token for another session').to.equal(403);
    expect(await subscribe(url, id!, { token: mintToken(SECRET, { scope: `session:${id}`, ttlS: 1, nowMs: Date.now() - 5000 }) }), 'expired viewer token').to.equal(401);
    expect(await subscribe(url, id!, { token: STATIC }), 'static token').to.equal(101);
  });

  it('WHIP: POST needs publish (403 for a viewer token); PATCH/DELETE only by the owner or a static token', async () => {
    const post = (token: string) => fetch(server.url + '/whip', { method: 'POST', headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${token}` }, body: offer });
    const viewer = mintToken(SECRET, { scope: 'session:00000000-0000-4000-8000-000000000000', ttlS: 60 });
    const refused = await post(viewer);
    expect(refused.status).to.equal(403);
    expect(refused.headers.get('www-authenticate')).to.contain('insufficient_scope');
    expect((await post('not-a-valid-token-at-all-0000')).status).to.equal(401);
    const res = await post(publishA);
    expect(res.status).to.equal(201);
    const location = server.url + res.headers.get('location')!;
    const patch = (token: string) => fetch(location, { method: 'PATCH', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', Authorization: `Bearer ${token}` }, body: 'a=end-of-candidates\r\n' });
    expect((await patch(publishB)).status, 'another publisher may not PATCH').to.equal(403);
    expect((await patch(publishA)).status, 'the owner may').to.equal(204);
    expect((await fetch(location, { method: 'DELETE', headers: { Authorization: `Bearer ${publishB}` } })).status).to.equal(403);
    expect((await fetch(location, { method: 'DELETE', headers: { Authorization: `Bearer ${publishA}` } })).status).to.equal(200);
    const res2 = await post(publishB);
    expect((await fetch(server.url + res2.headers.get('location')!, { method: 'DELETE', headers: { Authorization: `Bearer ${STATIC}` } })).status, 'static token manages any').to.equal(200);
  });

  it('Origin: pages of another origin get 403 on /signal and mask subscriptions; same origin and non-browser clients pass', async () => {
    const evil = await open({ headers: { Origin: 'http://evil.example' } });
    expect(evil.refusedStatus).to.equal(403);
    const host = new URL(server.url).host;
    const same = await open({ headers: { Origin: `http://${host}` } });
    expect(same.refusedStatus).to.equal(undefined);
    const none = await open();
    expect(none.refusedStatus).to.equal(undefined);
    const { id } = await createWs(STATIC);
    expect(await subscribe(server.url, id!, { token: STATIC, origin: 'https://evil.example' })).to.equal(403);
    expect(await subscribe(server.url, id!, { token: STATIC, origin: `http://${host}` })).to.equal(101);
    expect(await metricValue(server.url, 'maskstream_access_denied_total', 'reason="origin"')).to.equal(2);
  });

  it('keeps tokens, the HMAC secret, SDP and ICE candidates out of the info-level log', async () => {
    await createWs(publishA);
    const text = logs.join('\n');
    expect(logs.length, 'something was logged').to.be.greaterThan(0);
    for (const secret of [STATIC, SECRET, publishA, publishB]) expect(text).to.not.contain(secret);
    expect(text).to.not.match(/a=candidate|candidate:|v=0|a=ice-pwd|a=fingerprint/);
    expect(text).to.not.match(/"level":"debug"/);
  });
});

describe('security: per-IP session limits', function () {
  this.timeout(300_000);
  let server: RunningServer;
  let offer: string;
  const clients: SignalClient[] = [];
  const offerFrom = async (xff?: string) => {
    const c = await SignalClient.open(server.url, { headers: xff ? { 'X-Forwarded-For': xff } : {} });
    clients.push(c);
    c.send({ type: 'offer', sdp: offer });
    return { c, m: await c.next((x) => x.type === 'answer' || x.type === 'error') };
  };

  before(async () => {
    offer = await deadOffer();
    server = await startServer({ port: 0, host: '127.0.0.1', logLevel: 'warn', maxSessions: 20, ipMaxSessions: 2, ipSessionsPerMinute: 4, trustProxyHops: 1 });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server?.close();
  });

  it('refuses a third concurrent session from one address (rate_limited + retryAfterMs, socket closed; WHIP 429 + Retry-After); a freed slot admits again', async () => {
    const a = await offerFrom('203.0.113.1');
    const b = await offerFrom('203.0.113.1');
    expect([a.m.type, b.m.type]).to.deep.equal(['answer', 'answer']);
    const c = await offerFrom('203.0.113.1');
    expect(c.m).to.deep.include({ type: 'error', code: 'rate_limited' });
    expect((c.m as { retryAfterMs?: number }).retryAfterMs).to.be.at.least(1000);
    expect((await c.c.whenClosed()).code).to.equal(1008);
    const whip = await fetch(server.url + '/whip', { method: 'POST', headers: { 'Content-Type': 'application/sdp', 'X-Forwarded-For': 'evil-spoof, 203.0.113.1' }, body: offer });
    expect(whip.status, 'the spoofed left entry is ignored: the trusted hop says 203.0.113.1').to.equal(429);
    expect(Number(whip.headers.get('retry-after'))).to.be.at.least(1);
    expect(await whip.text()).to.match(/per-address limit/);
    a.c.send({ type: 'bye' });
    await waitFor(() => server.registry.size === 1, LOADED_MS);
    expect((await offerFrom('203.0.113.1')).m.type, 'slot freed by bye').to.equal('answer');
    expect((await offerFrom('198.51.100.7')).m.type, 'another address is not affected').to.equal('answer');
  });

  it('refuses more than ipSessionsPerMinute new sessions from one address, with a retry hint', async () => {
    // A fresh address: 4 sessions a minute pass (each ended at once), the 5th is refused.
    let refused;
    for (let i = 0; i < 6; i++) {
      const r = await offerFrom('192.0.2.50');
      if (r.m.type === 'answer') r.c.send({ type: 'bye' });
      else {
        refused = r.m;
        break;
      }
      await waitFor(() => r.c.closed !== undefined, LOADED_MS);
    }
    expect(refused).to.deep.include({ type: 'error', code: 'rate_limited' });
    expect((refused as { message: string }).message).to.match(/a minute/);
    expect(await metricValue(server.url, 'maskstream_sessions_refused_total', 'reason="rate_limited"')).to.equal(1);
    expect(await metricValue(server.url, 'maskstream_sessions_refused_total', 'reason="ip_limit"')).to.equal(2);
  });
});
