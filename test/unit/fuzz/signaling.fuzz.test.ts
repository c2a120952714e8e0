/**
 * Property-based fuzzing of everything that parses what a client sends before a session
 * exists (fast-check, fixed seed): the WebSocket protocol parser, the WHIP sdpfrag parser, the
 * offer checks, and token verification. Each returns a typed value or throws its own named
 * error with a code from the documented set — never anything else, never a hang.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { ERROR_CODES, parseAck, parseClientMessage, parseServerMessage, ProtocolError } from '../../../src/shared/protocol.js';
import { parseSdpFrag, SdpFragError } from '../../../src/signaling/whip.js';
import { checkOffer, declaredPixels, MAX_DECLARED_SIDE, MAX_SESSION_CANDIDATES } from '../../../src/signaling/offerCheck.js';
import { Authenticator, mintToken, verifyToken } from '../../../src/signaling/auth.js';
import { fuzzParams } from './fuzzParams.js';

const SECRET = 'fuzz-secret-0123456789-abcdefghijklmnop';

function protocolOutcome(f: () => unknown): unknown {
  try {
    return f();
  } catch (e) {
    expect(e, String(e)).to.be.instanceOf(ProtocolError);
    expect(ERROR_CODES).to.include((e as ProtocolError).code);
    return undefined;
  }
}

/** JSON objects shaped like protocol messages, with every field possibly of the wrong type. */
const anyValue = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.object({ maxDepth: 1 }));
const messageLike = fc.record({
  type: fc.oneof(fc.constantFrom('offer', 'candidate', 'bye', 'ack', 'answer', 'error', 'hello'), anyValue),
  sdp: fc.oneof(fc.string().map((s) => 'v=0' + s), anyValue),
  candidate: anyValue,
  sdpMid: anyValue,
  sdpMLineIndex: fc.oneof(fc.integer({ min: -2, max: 70 }), anyValue),
  token: anyValue,
  seq: fc.oneof(fc.integer(), anyValue),
  e2eMs: fc.oneof(fc.double(), anyValue),
  code: anyValue,
  message: anyValue,
  reason: anyValue,
  sessionId: anyValue,
  retryAfterMs: anyValue,
}, { requiredKeys: [] });

describe('fuzz: signaling (protocol, sdpfrag, offer checks, tokens)', function () {
  this.timeout(120_000);

  it('parseClientMessage / parseServerMessage / parseAck: any text → a typed message or a ProtocolError with a documented code', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.json(), messageLike.map((m) => JSON.stringify(m))), (text) => {
      const m = protocolOutcome(() => parseClientMessage(text)) as ReturnType<typeof parseClientMessage> | undefined;
      if (m?.type === 'offer') {
        expect(m.sdp).to.be.a('string').and.match(/^v=0/);
        if (m.token !== undefined) expect(m.token).to.be.a('string');
      } else if (m?.type === 'candidate') {
        expect(m.candidate).to.be.a('string');
        expect(m.sdpMid === null || typeof m.sdpMid === 'string').to.equal(true);
        expect(m.sdpMLineIndex === null || (Number.isInteger(m.sdpMLineIndex) && m.sdpMLineIndex! >= 0)).to.equal(true);
      }
      const s = protocolOutcome(() => parseServerMessage(text)) as ReturnType<typeof parseServerMessage> | undefined;
      if (s?.type === 'error') expect(typeof s.code === 'string' && typeof s.message === 'string').to.equal(true);
      if (s?.type === 'bye') expect(s.reason).to.be.a('string');
      const a = protocolOutcome(() => parseAck(text)) as ReturnType<typeof parseAck> | undefined;
      if (a) expect(Number.isInteger(a.seq) && a.seq >= 0 && a.seq <= 0xffffffff).to.equal(true);
    }), fuzzParams(500));
  });

  it('parseClientMessage: deeply nested or huge JSON is refused with bad_json / too_large, not a crash', () => {
    expect(() => parseClientMessage('['.repeat(60_000))).to.throw(ProtocolError);
    fc.assert(fc.property(fc.integer({ min: 1, max: 30_000 }), (depth) => {
      protocolOutcome(() => parseClientMessage('{"type":"bye","x":' + '['.repeat(depth) + ']'.repeat(depth) + '}'));
    }), fuzzParams(20));
  });

  it('parseSdpFrag: any text → a fragment within the bounds, or SdpFragError', () => {
    const line = fc.oneof(
      fc.string(),
      fc.constantFrom('a=end-of-candidates', 'm=video 9 UDP/TLS/RTP/SAVPF 0', 'a=mid:0', 'a=ice-ufrag:abcd', 'a=ice-pwd:0123456789012345678901'),
      fc.tuple(fc.nat(), fc.ipV4(), fc.integer({ min: 0, max: 70000 })).map(([p, ip, port]) => `a=candidate:1 1 udp ${p} ${ip} ${port} typ host`),
    );
    fc.assert(fc.property(fc.array(line, { maxLength: 80 }), fc.constantFrom('\r\n', '\n'), (lines, eol) => {
      try {
        const f = parseSdpFrag(lines.join(eol));
        expect(f.candidates.length).to.be.at.most(64);
        for (const c of f.candidates) expect(c.candidate.length).to.be.at.most(1024);
      } catch (e) {
        expect(e, String(e)).to.be.instanceOf(SdpFragError);
      }
    }), fuzzParams(500));
  });

  it('checkOffer: any text → undefined or a problem of a documented kind; what passes has video and bounded candidates', () => {
    const line = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constantFrom('m=video 9 UDP/TLS/RTP/SAVPF 96', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=rtpmap:96 VP8/90000', 'a=rtpmap:102 H264/90000', 'a=candidate:1 1 udp 1 127.0.0.1 5000 typ host'),
      fc.tuple(fc.nat({ max: 99999 }), fc.nat({ max: 99999 })).map(([x, y]) => `a=imageattr:96 send [x=${x},y=${y}] recv *`),
      fc.tuple(fc.nat(), fc.nat()).map(([x, y]) => `a=imageattr:* send [x=[320:16:${x}],y=[240:16:${y}]]`),
      fc.tuple(fc.nat(), fc.nat()).map(([w, h]) => `a=framesize:96 ${w}-${h}`),
    );
    const kinds = ['not_sdp', 'too_many_media', 'too_many_candidates', 'no_video', 'unsupported_codec', 'resolution_too_large'];
    fc.assert(fc.property(fc.array(line, { maxLength: 100 }), (lines) => {
      const sdp = ['v=0', ...lines].join('\r\n');
      const p = checkOffer(sdp, { maxFramePixels: 1920 * 1088 });
      if (p) {
        expect(kinds).to.include(p.kind);
        expect(p.message).to.be.a('string').and.not.equal('');
      } else {
        expect(sdp).to.match(/^m=video /m);
        expect(sdp.split('\na=candidate:').length - 1).to.be.at.most(MAX_SESSION_CANDIDATES);
      }
      for (const l of lines) if (/^a=(imageattr|framesize):/.test(l)) {
        const px = declaredPixels(l);
        expect(Number.isNaN(px), `declaredPixels(${l}) is a number`).to.equal(false);
      }
    }), fuzzParams(500));
  });

  it('checkOffer: a declared size over the limit, or an absurd side, is refused whatever the other side (regressions: 10^10 × 0 was NaN and passed; [x=[a:b],…] ranges read as 0)', () => {
    const forms = [
      (x: number, y: number) => `a=framesize:96 ${x}-${y}`,
      (x: number, y: number) => `a=imageattr:96 send [x=${x},y=${y}]`,
      (x: number, y: number) => `a=imageattr:* recv [x=[160:16:${x}],y=[120:8:${y}]] send *`,
      (x: number, y: number) => `a=imageattr:96 send [x=[160,${x}],y=[120,${y}],sar=1.0]`,
    ];
    fc.assert(fc.property(fc.integer({ min: 1, max: 99_999 }), fc.integer({ min: 1, max: 99_999 }), fc.integer({ min: 0, max: forms.length - 1 }), (x, y, form) => {
      const line = forms[form]!(x, y);
      const sdp = `v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n${line}\r\n`;
      const p = checkOffer(sdp, { maxFramePixels: 1920 * 1088 });
      const w = Math.max(x, form >= 2 ? 160 : 0);
      const h = Math.max(y, form >= 2 ? 120 : 0);
      expect(p?.kind === 'resolution_too_large', line).to.equal(w * h > 1920 * 1088 || Math.max(w, h) > MAX_DECLARED_SIDE);
    }), fuzzParams());
    expect(checkOffer('v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\na=imageattr:96 send [x=99999999999,y=0]\r\n', { maxFramePixels: 1920 * 1088 })?.kind).to.equal('resolution_too_large');
  });

  it('tokens: mint → verify round-trips; any other string, or a minted token with one character changed, is refused', () => {
    const uuid = fc.uuid({ version: 4 });
    fc.assert(fc.property(fc.oneof(fc.constant('publish'), uuid.map((u) => `session:${u}`)), fc.integer({ min: 1, max: 86400 }), fc.nat(), fc.string({ maxLength: 200 }), (scope, ttlS, pos, junk) => {
      const now = 1_800_000_000_000;
      const t = mintToken(SECRET, { scope, ttlS, nowMs: now });
      const claims = verifyToken(SECRET, t, now);
      expect(claims).to.deep.include({ scopes: [scope], exp: now / 1000 + ttlS });
      expect(verifyToken(SECRET, t, now + ttlS * 1000)).to.equal('expired_token');
      expect(verifyToken(SECRET + 'x', t, now)).to.equal('invalid_token');
      const i = pos % t.length;
      const flipped = t.slice(0, i) + (t[i] === 'A' ? 'B' : 'A') + t.slice(i + 1);
      expect(verifyToken(SECRET, flipped, now)).to.be.oneOf(['invalid_token']);
      expect(verifyToken(SECRET, junk, now)).to.equal('invalid_token');
      expect(verifyToken(SECRET, `ms1.${junk}.${junk}`, now)).to.equal('invalid_token');
    }), fuzzParams());
  });

  it('Authenticator: any presented token → a verdict, never an exception; only real tokens pass', () => {
    const auth = new Authenticator({ staticTokens: ['static-token-0123456789'], secret: SECRET });
    fc.assert(fc.property(fc.option(fc.string({ maxLength: 3000 })), fc.uuid({ version: 4 }), (token, id) => {
      for (const ep of ['ws', 'whip', 'masks'] as const) {
        const r = auth.authenticate(ep, token ?? undefined);
        expect(r.ok).to.equal(false);
        expect(auth.authorizeSession(ep, token ?? undefined, id, 'read').ok).to.equal(false);
      }
    }), fuzzParams());
  });
});
