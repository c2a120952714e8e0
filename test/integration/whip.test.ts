/**
 * WHIP endpoint (RFC 9725) over plain HTTP against a real server: every status code it
 * answers with, CORS, Link headers, and a whole WHIP publish from a werift peer (trickled
 * candidates by PATCH) whose masks arrive over a subscriber WebSocket.
 */
import { expect } from 'chai';
import WebSocket from 'ws';
import { RTCPeerConnection, RTCRtpCodecParameters, MediaStreamTrack } from 'werift';
import { startServer, type RunningServer } from '../../src/main.js';
import { WeriftPublisher } from '../../src/testing/weriftPublisher.js';
import { generateClip } from '../../src/testing/synthClip.js';
import { decodeMask } from '../../src/shared/maskCodec.js';
import type { I420Picture } from '../../src/decode/types.js';
import { LOADED_MS, waitFor } from '../helpers/waitFor.js';
import { awaitAccounted, dropCounts, LOAD_DROP_REASONS, total } from '../helpers/frameAccounting.js';

const TOKEN = 'test-token-0123456789abcdef';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const ALLOWED_ORIGIN = 'http://publisher.example:8000';
const FPS = 30;
const FRAMES = 90;

/** An SDP offer from a real werift peer (never connected): sendonly video with `mime`. */
async function makeOffer(mime = 'video/VP8'): Promise<string> {
  const pc = new RTCPeerConnection({ codecs: { video: [new RTCRtpCodecParameters({ mimeType: mime, clockRate: 90000 })], audio: [] }, bundlePolicy: 'max-bundle' });
  pc.addTransceiver(new MediaStreamTrack({ kind: 'video' }), { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  const sdp = pc.localDescription!.sdp;
  await pc.close();
  return sdp;
}


/** Opens a WebSocket and resolves with how it went: open, or the HTTP status that refused it. */
function tryWs(url: string, headers: Record<string, string> = {}): Promise<{ ws?: WebSocket; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode });
      ws.terminate();
    });
    ws.once('error', () => resolve({}));
  });
}

describe('WHIP ingest (RFC 9725) and mask subscriptions', function () {
  this.timeout(300_000);
  let server: RunningServer;
  let frames: I420Picture[];
  let base: string;
  const openSockets: WebSocket[] = [];

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(base + '/whip', { method: 'POST', headers: { 'Content-Type': 'application/sdp', ...AUTH, ...headers }, body });

  before(async () => {
    frames = (await generateClip({ frames: FRAMES, width: 640, height: 480, fps: FPS, speedPxPerFrame: 4, seed: 11 })).frames;
    server = await startServer({
      port: 0, host: '127.0.0.1', logLevel: 'warn', maxSessions: 2, whipToken: TOKEN, maxMaskSubscribers: 2,
      corsAllowOrigins: [ALLOWED_ORIGIN],
      clientIceServers: ['stun:127.0.0.1:3478', 'turn:127.0.0.1:3478?transport=udp'], clientIceUsername: 'turnuser', clientIceCredential: 'turnpass',
    });
    base = server.url;
  });

  afterEach(async () => {
    for (const ws of openSockets.splice(0)) ws.terminate();
    server.registry.closeAll('shutdown');
    await waitFor(() => server.registry.size === 0, LOADED_MS);
  });

  after(async () => {
    await server?.close();
  });

  it('answers a CORS preflight with Accept-Post and the allowed methods and headers, for allowed origins only', async () => {
    const pre = await fetch(base + '/whip', {
      method: 'OPTIONS',
      headers: { Origin: ALLOWED_ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization, content-type' },
    });
    expect(pre.status).to.equal(204);
    expect(pre.headers.get('accept-post')).to.equal('application/sdp');
    expect(pre.headers.get('access-control-allow-origin')).to.equal(ALLOWED_ORIGIN);
    expect(pre.headers.get('access-control-allow-methods')).to.match(/POST/).and.match(/PATCH/).and.match(/DELETE/);
    expect(pre.headers.get('access-control-allow-headers')).to.match(/Authorization/).and.match(/Content-Type/).and.match(/If-Match/);
    expect(pre.headers.get('access-control-expose-headers')).to.match(/Location/).and.match(/Link/).and.match(/ETag/);
    expect(pre.headers.get('link'), 'no ICE servers to an unauthenticated preflight').to.equal(null);

    const other = await fetch(base + '/whip', { method: 'OPTIONS', headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' } });
    expect(other.headers.get('access-control-allow-origin')).to.equal(null);

    const session = await fetch(base + '/whip/sessions/00000000-0000-0000-0000-000000000000', { method: 'OPTIONS', headers: { Origin: ALLOWED_ORIGIN, 'Access-Control-Request-Method': 'PATCH' } });
    expect(session.status).to.equal(204);
    expect(session.headers.get('accept-patch')).to.equal('application/trickle-ice-sdpfrag');
  });

  it('gives ICE servers as Link headers (TURN with credentials) to an authenticated OPTIONS', async () => {
    const res = await fetch(base + '/whip', { method: 'OPTIONS', headers: AUTH });
    expect(res.status).to.equal(204);
    const link = res.headers.get('link') ?? '';
    expect(link).to.contain('<stun:127.0.0.1:3478>; rel="ice-server"');
    expect(link).to.contain('<turn:127.0.0.1:3478?transport=udp>; rel="ice-server"; username="turnuser"; credential="turnpass"; credential-type="password"');
  });

  it('refuses without the bearer token (401), wrong media type (415), oversized (413), non-SDP and video-less or unsupported offers (400), other methods (405)', async () => {
    const offer = await makeOffer();
    const noAuth = await fetch(base + '/whip', { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
    expect(noAuth.status).to.equal(401);
    expect(noAuth.headers.get('www-authenticate')).to.match(/^Bearer realm="maskstream"/);
    const wrong = await post(offer, { Authorization: 'Bearer not-the-token-at-all-xx' });
    expect(wrong.status).to.equal(401);
    expect(wrong.headers.get('www-authenticate')).to.contain('error="invalid_token"');

    const ct = await post(offer, { 'Content-Type': 'text/plain' });
    expect(ct.status).to.equal(415);
    expect(await ct.text()).to.contain('application/sdp');

    const big = await post('v=0\r\n' + 'a=x-padding:' + 'x'.repeat(40 * 1024) + '\r\n');
    expect(big.status).to.equal(413);

    const notSdp = await post('hello, server');
    expect(notSdp.status).to.equal(400);
    expect(await notSdp.text()).to.contain('v=0');
    const noVideo = await post(offer.replace(/^m=video /m, 'm=audio '));
    expect(noVideo.status).to.equal(400);
    expect(await noVideo.text()).to.contain('no video');
    const vp9 = await post(await makeOffer('video/VP9'));
    expect(vp9.status).to.equal(400);
    expect(await vp9.text()).to.match(/VP8 or H\.264|codec/);

    const get = await fetch(base + '/whip', { headers: AUTH });
    expect(get.status).to.equal(405);
    expect(get.headers.get('allow')).to.contain('POST');
    expect(server.registry.size, 'no session left behind').to.equal(0);

    const metrics = await (await fetch(base + '/metrics')).text();
    expect(metrics).to.match(/^maskstream_whip_requests_total\{method="POST",code="401"\} 2$/m);
    expect(metrics).to.match(/^maskstream_sessions_refused_total\{reason="unauthorized"\} 2$/m);
  });

  it('creates a session (201 + answer, Location, ETag, Link), handles PATCH errors (404/412/415/422) and DELETE (200, then 404)', async () => {
    const res = await post(await makeOffer(), { Origin: ALLOWED_ORIGIN });
    expect(res.status).to.equal(201);
    expect(res.headers.get('content-type')).to.match(/^application\/sdp/);
    const location = res.headers.get('location')!;
    expect(location).to.match(/^\/whip\/sessions\/[0-9a-f-]{36}$/);
    const etag = res.headers.get('etag')!;
    expect(etag).to.match(/^"[\w-]+"$/);
    expect(res.headers.get('access-control-allow-origin')).to.equal(ALLOWED_ORIGIN);
    expect(res.headers.get('link')).to.contain('rel="ice-server"');
    const answer = await res.text();
    expect(answer).to.match(/^v=0/).and.match(/^m=video /m).and.match(/^a=recvonly/m);
    expect(server.registry.size).to.equal(1);
    const id = location.split('/').pop()!;
    expect(server.registry.get(id)?.signaling).to.equal('whip');

    const url = base + location;
    const frag = (ufrag: string) => `a=ice-ufrag:${ufrag}\r\na=ice-pwd:${'p'.repeat(24)}\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n`;
    const patch = (body: string, headers: Record<string, string> = {}) =>
      fetch(url, { method: 'PATCH', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', ...AUTH, ...headers }, body });

    expect((await patch('a=end-of-candidates\r\n', { 'Content-Type': 'application/sdp' })).status, 'wrong type').to.equal(415);
    expect((await patch('a=end-of-candidates\r\n', { 'If-Match': '"stale"' })).status, 'stale ETag').to.equal(412);
    expect((await patch('a=end-of-candidates\r\n', { 'If-Match': '*' })).status, 'ICE restart by If-Match: *').to.equal(422);
    expect((await patch(frag('newufrag'), { 'If-Match': etag })).status, 'ICE restart by new credentials').to.equal(422);
    expect((await patch('this is not sdp')).status, 'garbage').to.equal(400);
    expect((await patch('a=end-of-candidates\r\n', { 'If-Match': etag })).status, 'end of candidates').to.equal(204);
    expect((await fetch(url, { method: 'PATCH', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag' }, body: '' })).status, 'no token').to.equal(401);
    expect((await fetch(base + '/whip/sessions/00000000-0000-0000-0000-000000000000', { method: 'PATCH', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', ...AUTH }, body: '' })).status).to.equal(404);

    expect((await fetch(url, { method: 'DELETE' })).status, 'DELETE needs the token').to.equal(401);
    expect((await fetch(url, { method: 'DELETE', headers: AUTH })).status).to.equal(200);
    expect(server.registry.size).to.equal(0);
    expect((await fetch(url, { method: 'DELETE', headers: AUTH })).status).to.equal(404);
  });

  it('answers 503 with Retry-After when full', async () => {
    const a = await post(await makeOffer());
    const b = await post(await makeOffer());
    expect([a.status, b.status]).to.deep.equal([201, 201]);
    const full = await post(await makeOffer());
    expect(full.status).to.equal(503);
    expect(full.headers.get('retry-after')).to.equal('5');
    expect(await full.text()).to.contain('capacity');
    const ready = await fetch(base + '/readyz');
    expect(ready.status, '/readyz while full').to.equal(503);
  });

  it('refuses mask subscriptions without the token (401), for unknown sessions (404) and over the limit (429)', async () => {
    const res = await post(await makeOffer());
    const id = res.headers.get('location')!.split('/').pop()!;
    const wsBase = base.replace(/^http/, 'ws');
    expect((await tryWs(`${wsBase}/sessions/${id}/masks`)).status).to.equal(401);
    expect((await tryWs(`${wsBase}/sessions/${id}/masks?token=wrong-token-wrong-token`)).status).to.equal(401);
    expect((await tryWs(`${wsBase}/sessions/00000000-0000-0000-0000-000000000000/masks`, AUTH)).status).to.equal(404);
    const one = await tryWs(`${wsBase}/sessions/${id}/masks?token=${TOKEN}`);
    const two = await tryWs(`${wsBase}/sessions/${id}/masks`, AUTH);
    expect(one.ws && two.ws, 'query token and header both accepted').to.not.equal(undefined);
    openSockets.push(one.ws!, two.ws!);
    expect((await tryWs(`${wsBase}/sessions/${id}/masks`, AUTH)).status, 'third subscriber').to.equal(429);
    const closed = new Promise<{ code: number; reason: string }>((resolve) => one.ws!.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    expect((await fetch(base + res.headers.get('location')!, { method: 'DELETE', headers: AUTH })).status).to.equal(200);
    expect(await closed, 'subscribers are told the session ended').to.deep.equal({ code: 1000, reason: 'bye' });
  });

  it('publishes from a werift peer over WHIP (candidates by PATCH) and delivers masks to a subscriber socket; DELETE ends it', async () => {
    const before = await dropCounts(base);
    const pub = new WeriftPublisher({ url: base, codec: 'vp8', frames, fps: FPS, totalFrames: FRAMES, signaling: 'whip', token: TOKEN, trickle: true });
    let drops;
    try {
      await pub.connect(LOADED_MS);
      expect(pub.whip!.patchStatuses, 'trickled candidates accepted').to.deep.equal([204]);
      expect(pub.whip!.links.length).to.equal(2);
      await pub.run();
      drops = await awaitAccounted(base, before, pub.framesSent, () => pub.masks.length);
    } finally {
      await pub.close();
    }
    const e2e = pub.masks.map((m) => m.e2eMs).sort((x, y) => x - y);
    console.log(`      WHIP (werift, trickle): ${pub.masks.length} masks for ${pub.framesSent} frames (drops ${JSON.stringify(drops)}), e2e median ${e2e[e2e.length >> 1]!.toFixed(1)} ms`);
    expect(pub.errors).to.deep.equal([]);
    expect(pub.whip!.deleteStatus).to.equal(200);
    // Every frame a mask or a counted drop of a kind a live stream has on a busy machine; the
    // newest frame always a mask.
    expect(pub.masks.length + total(drops), `masks + drops ${JSON.stringify(drops)} for ${pub.framesSent} frames`).to.equal(pub.framesSent);
    for (const reason of Object.keys(drops)) expect(LOAD_DROP_REASONS, `drop reason ${reason}`).to.include(reason);
    expect(pub.masks.at(-1)?.frameIndex, 'the last frame has a mask').to.equal(pub.framesSent - 1);
    for (let i = 1; i < pub.masks.length; i++) expect(pub.masks[i]!.msg.seq).to.be.greaterThan(pub.masks[i - 1]!.msg.seq);
    for (const m of pub.masks) {
      expect(m.frameIndex).to.be.at.least(0);
      expect(m.msg.width).to.equal(server.engineInfo.maskWidth);
    }
    await waitFor(() => server.registry.size === 0 && pub.subscriberClose !== undefined, LOADED_MS);
    expect(server.registry.size, 'DELETE ended the session').to.equal(0);
    expect(pub.subscriberClose).to.deep.equal({ code: 1000, reason: 'bye' });
    const metrics = await (await fetch(base + '/metrics')).text();
    expect(metrics).to.match(/^maskstream_sessions_started_total\{signaling="whip"\} [1-9]/m);
    expect(metrics).to.match(/^maskstream_whip_requests_total\{method="PATCH",code="204"\} [1-9]/m);
    expect(metrics).to.match(/^maskstream_whip_requests_total\{method="DELETE",code="200"\} [1-9]/m);
    expect(metrics).to.match(/^maskstream_mask_subscribers 0$/m);
  });

  it('accepts an offer with audio and video (as OBS sends): audio ignored, masks for the video', async () => {
    const before = await dropCounts(base);
    const pub = new WeriftPublisher({ url: base, codec: 'vp8', frames, fps: FPS, totalFrames: 60, signaling: 'whip', token: TOKEN, withAudio: true });
    let drops;
    try {
      await pub.connect(LOADED_MS);
      await pub.run();
      drops = await awaitAccounted(base, before, pub.framesSent, () => pub.masks.length);
    } finally {
      await pub.close();
    }
    expect(pub.errors).to.deep.equal([]);
    expect(pub.masks.length + total(drops), `masks + drops ${JSON.stringify(drops)} for ${pub.framesSent} frames`).to.equal(pub.framesSent);
    for (const reason of Object.keys(drops)) expect(LOAD_DROP_REASONS, `drop reason ${reason}`).to.include(reason);
    expect(pub.masks.at(-1)?.frameIndex, 'the last video frame has a mask').to.equal(pub.framesSent - 1);
  });

  it('sends a WebSocket-signaled session\'s masks to its data channel and to a subscriber, byte for byte the same', async () => {
    const before = await dropCounts(base);
    const pub = new WeriftPublisher({ url: base, codec: 'vp8', frames, fps: FPS, totalFrames: 60 });
    const viaSubscriber: Buffer[] = [];
    try {
      await pub.connect(LOADED_MS);
      const sub = await tryWs(`${base.replace(/^http/, 'ws')}/sessions/${pub.sessionId}/masks`, AUTH);
      expect(sub.ws).to.not.equal(undefined);
      openSockets.push(sub.ws!);
      sub.ws!.on('message', (d: Buffer, binary: boolean) => binary && viaSubscriber.push(d));
      await pub.run();
      await awaitAccounted(base, before, pub.framesSent, () => pub.masks.length);
      // The subscriber's TCP socket may lag the data channel: wait for it to catch up.
      await waitFor(() => viaSubscriber.length >= pub.masks.length, LOADED_MS);
    } finally {
      await pub.close();
    }
    expect(pub.masks.length, 'masks on the data channel').to.be.greaterThan(0);
    const bySeq = new Map(pub.masks.map((m) => [m.msg.seq, m.msg]));
    for (const raw of viaSubscriber) {
      const a = decodeMask(raw);
      const b = bySeq.get(a.seq);
      expect(b, `subscriber mask seq ${a.seq} also came on the data channel`).to.not.equal(undefined);
      expect(a).to.deep.equal(b);
    }
    expect(viaSubscriber.length, 'every mask on both paths').to.equal(pub.masks.length);
  });
});
