/**
 * Bad input on the signaling paths gets a specific error and closes the socket or session
 * where that is the right answer, while a live session on the same server keeps producing
 * masks: malformed JSON, wrong types, unknown message types, binary frames, oversized frames
 * (over the documented 64 KiB limit, and over the 256 KiB hard cap), SDP that is not SDP,
 * offers without video or with only unsupported codecs, absurd declared resolutions, too many
 * candidates, messages out of order, a stream of bad messages, an idle socket; and the WHIP
 * equivalents.
 */
import { expect } from 'chai';
import { startServer, type RunningServer } from '../../src/main.js';
import { generateClip } from '../../src/testing/synthClip.js';
import { FaultPublisher } from '../../src/reliability/faultPublisher.js';
import { MAX_PROTOCOL_ERRORS, MAX_SIGNAL_FRAME_BYTES, MAX_SIGNAL_MESSAGE_BYTES } from '../../src/shared/protocol.js';
import { deadOffer, metricValue, SignalClient } from '../helpers/signalClient.js';
import { LOADED_MS, waitFor } from '../helpers/waitFor.js';
import { dropCounts, dropsSince, LOAD_DROP_REASONS, type DropCounts } from '../helpers/frameAccounting.js';

const CANDIDATE = 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host';
/**
 * The server's connectTimeoutMs, which also bounds how long a socket may stay without an offer.
 * Not shorter: the live publisher's own ICE + DTLS must fit in it on a busy machine.
 */
const CONNECT_TIMEOUT_MS = 5000;

describe('signaling abuse: specific errors, the right sockets closed, other sessions unaffected', function () {
  this.timeout(300_000);
  let server: RunningServer;
  let live: FaultPublisher;
  let dropsBefore: DropCounts;
  let liveRun: Promise<void>;
  let offer: string;
  const clients: SignalClient[] = [];
  const open = async () => {
    const c = await SignalClient.open(server.url);
    clients.push(c);
    return c;
  };
  /** Sends `m` on a fresh socket; resolves with the first error and whether/how the socket closed. */
  const errorFor = async (m: unknown, c?: SignalClient) => {
    const s = c ?? (await open());
    const from = s.messages.length;
    s.send(m);
    return { s, e: (await s.next((x) => x.type === 'error', LOADED_MS, from)) as { type: 'error'; code: string; message: string } };
  };

  before(async () => {
    offer = await deadOffer();
    const clip = await generateClip({ frames: 60, width: 320, height: 240, fps: 30, speedPxPerFrame: 3, seed: 21 });
    server = await startServer({ port: 0, host: '127.0.0.1', logLevel: 'error', maxSessions: 10, connectTimeoutMs: CONNECT_TIMEOUT_MS, ipMaxSessions: 0, ipSessionsPerMinute: 0, admissionMaxLoad: 0 });
    dropsBefore = await dropCounts(server.url);
    live = new FaultPublisher({ url: server.url, codec: 'vp8', frames: clip.frames, fps: 30 });
    await live.connect(LOADED_MS);
    liveRun = live.run(30 * 3600); // runs through every case below, however long they take; stopped by close()
  });
  after(async () => {
    for (const c of clients) c.close();
    await live?.close();
    await liveRun;
    await server?.close();
  });

  it('malformed JSON, wrong types, unknown types and binary frames: an error each, socket kept until the 5th', async () => {
    const s = await open();
    const cases: [unknown, string][] = [
      ['{"type":"offer",', 'bad_json'],
      ['[1,2,3]', 'bad_message'],
      [{ type: 42 }, 'bad_message'],
      [{ type: 'dance' }, 'bad_message'],
    ];
    for (const [m, code] of cases) {
      const { e } = await errorFor(m, s);
      expect(e.code, JSON.stringify(m)).to.equal(code);
      expect(e.message).to.be.a('string').and.not.equal('');
    }
    expect(s.closed, 'still open after 4 bad messages').to.equal(undefined);
    const from = s.messages.length;
    s.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    const e = (await s.next((x) => x.type === 'error', 5000, from)) as { code: string; message: string };
    expect(e.code).to.equal('bad_message');
    expect(e.message).to.match(/JSON text frames.*closing/);
    expect((await s.whenClosed()).code, `closed at the ${MAX_PROTOCOL_ERRORS}th bad message`).to.equal(1008);
  });

  it('wrong field types in an offer or candidate: bad_message naming the field', async () => {
    expect((await errorFor({ type: 'offer', sdp: 42 })).e.message).to.match(/"sdp"/);
    expect((await errorFor({ type: 'offer', sdp: offer, token: 7 })).e.message).to.match(/"token"/);
    expect((await errorFor({ type: 'candidate', candidate: CANDIDATE, sdpMLineIndex: 'zero' })).e.message).to.match(/sdpMLineIndex/);
  });

  it('oversized: a 70 KiB message gets too_large and 1009; a frame over the 256 KiB cap is cut off with 1009', async () => {
    const { s, e } = await errorFor({ type: 'offer', sdp: 'v=0' + 'a'.repeat(70 * 1024) });
    expect(e.code).to.equal('too_large');
    expect(e.message).to.contain(String(MAX_SIGNAL_MESSAGE_BYTES));
    expect((await s.whenClosed()).code).to.equal(1009);
    const huge = await open();
    huge.send('x'.repeat(MAX_SIGNAL_FRAME_BYTES + 1));
    expect((await huge.whenClosed()).code).to.equal(1009);
  });

  it('offers: not SDP, no video, only unsupported codecs, absurd declared size → specific errors, no session', async () => {
    expect((await errorFor({ type: 'offer', sdp: 'hello' })).e).to.deep.include({ code: 'bad_message' });
    const garbage = await errorFor({ type: 'offer', sdp: 'v=0\r\nthis is not sdp\r\n' });
    expect(garbage.e).to.deep.include({ code: 'unsupported_offer' });
    expect(garbage.e.message).to.match(/not SDP: line 2/);
    expect((await errorFor({ type: 'offer', sdp: offer.replace(/^m=video /m, 'm=audio ') })).e.message).to.match(/no video/);
    const vp9 = await errorFor({ type: 'offer', sdp: await deadOffer('video/VP9') });
    expect(vp9.e).to.deep.include({ code: 'unsupported_offer' });
    expect(vp9.e.message).to.match(/VP8 or H\.264/);
    const huge = offer.replace(/^(a=rtpmap:\d+ VP8\/90000)$/m, '$1\r\na=imageattr:* send [x=16000,y=16000]');
    const big = await errorFor({ type: 'offer', sdp: huge });
    expect(big.e).to.deep.include({ code: 'unsupported_offer' });
    expect(big.e.message).to.match(/256000000 px.*maxFramePixels/);
    expect(big.s.closed, 'the socket may try another offer').to.equal(undefined);
    expect(await metricValue(server.url, 'maskstream_sessions_refused_total', 'reason="unsupported_offer"')).to.be.at.least(3);
  });

  it('too many candidates (in the offer, or trickled) → too_many_candidates and the socket closed', async () => {
    const many = offer.replace(/^(a=candidate:.*)$/m, (l) => [l, ...Array.from({ length: 70 }, (_, i) => `a=candidate:x${i} 1 udp 1 10.0.0.${i} 9 typ host`)].join('\r\n'));
    const a = await errorFor({ type: 'offer', sdp: many });
    expect(a.e.code).to.equal('too_many_candidates');
    expect((await a.s.whenClosed()).code).to.equal(1008);
    const b = await open();
    b.send({ type: 'offer', sdp: offer });
    await b.next((m) => m.type === 'answer');
    for (let i = 0; i < 80 && !b.closed; i++) b.send({ type: 'candidate', candidate: `candidate:t${i} 1 udp 1 10.1.0.${i % 250} 9 typ host`, sdpMid: '0', sdpMLineIndex: 0 });
    const e = (await b.next((m) => m.type === 'error' && m.code === 'too_many_candidates')) as { message: string };
    expect(e.message).to.match(/more than 64/);
    expect((await b.whenClosed()).code).to.equal(1008);
    expect(await waitFor(() => server.registry.size === 1, LOADED_MS), 'its session ended with the socket').to.equal(true);
  });

  it('out of order: candidate before offer, a second offer → bad_state; no offer within the connect timeout → timeout and closed', async () => {
    expect((await errorFor({ type: 'candidate', candidate: CANDIDATE })).e.code).to.equal('bad_state');
    const s = await open();
    s.send({ type: 'offer', sdp: offer });
    await s.next((m) => m.type === 'answer');
    expect((await errorFor({ type: 'offer', sdp: offer }, s)).e.code).to.equal('bad_state');
    s.send({ type: 'bye' });
    const idle = await open();
    const e = (await idle.next((m) => m.type === 'error', CONNECT_TIMEOUT_MS + LOADED_MS)) as { code: string; message: string };
    expect(e.code).to.equal('timeout');
    expect(e.message).to.match(new RegExp(`no offer within ${CONNECT_TIMEOUT_MS} ms`));
    expect((await idle.whenClosed()).code).to.equal(1008);
  });

  it('WHIP: garbage, absurd sizes and too many candidates → 400 with a reason; nothing left behind', async () => {
    const post = (body: string) => fetch(server.url + '/whip', { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body });
    const before = server.registry.size;
    const cases: [string, RegExp][] = [
      ['v=0\r\n\u0000\u0001binary\r\n', /not SDP/],
      [offer.replace(/^(a=rtpmap:\d+ VP8\/90000)$/m, '$1\r\na=framesize:96 99999-99999'), /maxFramePixels/],
      [offer.replace(/^(a=candidate:.*)$/m, (l) => [l, ...Array.from({ length: 70 }, (_, i) => `a=candidate:x${i} 1 udp 1 10.0.0.${i} 9 typ host`)].join('\r\n')), /at most 64/],
      [Array.from({ length: 10 }, () => 'm=video 9 UDP/TLS/RTP/SAVPF 96').join('\r\n').replace(/^/, 'v=0\r\n'), /media sections/],
    ];
    for (const [body, re] of cases) {
      const r = await post(body);
      expect(r.status, String(re)).to.equal(400);
      expect(await r.text()).to.match(re);
    }
    const ok = await post(offer);
    expect(ok.status).to.equal(201);
    const url = server.url + ok.headers.get('location')!;
    const frag = (n: number, from: number) => Array.from({ length: n }, (_, i) => `a=candidate:p${from + i} 1 udp 1 10.2.0.${(from + i) % 250} 9 typ host`).join('\r\n') + '\r\n';
    const patch = (body: string) => fetch(url, { method: 'PATCH', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag' }, body });
    expect((await patch(frag(40, 0))).status).to.equal(204);
    const over = await patch(frag(40, 40));
    expect(over.status).to.equal(400);
    expect(await over.text()).to.match(/more than 64 ICE candidates/);
    expect((await fetch(url, { method: 'DELETE' })).status).to.equal(200);
    expect(server.registry.size).to.equal(before);
  });

  it('the live session kept producing masks throughout, and every error was counted', async () => {
    // Still producing: ten more masks come (counted, however long a busy machine takes).
    const masks = live.masksReceived;
    expect(await waitFor(() => live.masksReceived >= masks + 10, LOADED_MS), `masks after all the abuse (${live.masksReceived - masks} new)`).to.equal(true);
    // Every frame it sent so far is a mask or a drop a live stream has anyway (superseded):
    // nothing of the abuse cost it a frame. (Its frames are the only media on this server.)
    const drops = dropsSince(dropsBefore, await dropCounts(server.url));
    for (const reason of Object.keys(drops)) expect(LOAD_DROP_REASONS, `drop reason ${reason} (${JSON.stringify(drops)})`).to.include(reason);
    expect(live.byeReason).to.equal(undefined);
    expect(live.errors).to.deep.equal([]);
    for (const code of ['bad_json', 'bad_message', 'too_large', 'unsupported_offer', 'too_many_candidates', 'bad_state', 'timeout']) {
      expect(await metricValue(server.url, 'maskstream_signaling_errors_total', `code="${code}"`), code).to.be.at.least(1);
    }
    const health = await fetch(server.url + '/healthz');
    expect(health.status).to.equal(200);
  });
});
