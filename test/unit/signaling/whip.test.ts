import { expect } from 'chai';
import {
  bearerToken, hasMediaType, iceServerLinks, isIceRestart, MAX_FRAG_CANDIDATES, parseSdpFrag, SdpFragError, tokenMatches,
} from '../../../src/signaling/whip.js';
import { checkOffer } from '../../../src/signaling/offerCheck.js';

const LIMITS = { maxFramePixels: 1920 * 1088 };

// RFC 8840 §4.4 style fragment, as a browser trickles it.
const FRAG = [
  'a=ice-ufrag:EsAw',
  'a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1',
  'm=audio 9 RTP/AVP 0',
  'a=mid:0',
  'a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1',
  'a=candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host generation 0 ufrag EsAw network-id 2',
  'm=video 9 RTP/AVP 0',
  'a=mid:1',
  'a=candidate:473322822 1 tcp 1518280447 192.0.2.1 9 typ host tcptype active generation 0',
  'a=end-of-candidates',
  '',
].join('\r\n');

describe('WHIP helpers (RFC 9725 / RFC 8840)', () => {
  it('parses a trickle-ICE fragment: credentials, candidates with their mid and m-line, end of candidates', () => {
    const f = parseSdpFrag(FRAG);
    expect(f.ufrag).to.equal('EsAw');
    expect(f.pwd).to.equal('P2uYro0UCOQ4zxjKXaWCBui1');
    expect(f.endOfCandidates).to.equal(true);
    expect(f.candidates.map((c) => [c.sdpMid, c.sdpMLineIndex])).to.deep.equal([['0', 0], ['0', 0], ['1', 1]]);
    expect(f.candidates[0]!.candidate).to.match(/^candidate:1387637174 1 udp /);
    expect(parseSdpFrag('a=end-of-candidates\n')).to.deep.equal({ candidates: [], endOfCandidates: true });
    expect(parseSdpFrag('')).to.deep.equal({ candidates: [], endOfCandidates: false });
  });

  it('rejects what is not a fragment, malformed or oversized candidates, and too many', () => {
    expect(() => parseSdpFrag('hello')).to.throw(SdpFragError, /not an SDP line/);
    expect(() => parseSdpFrag('a=candidate:garbage')).to.throw(SdpFragError, /malformed candidate/);
    expect(() => parseSdpFrag(`a=candidate:1 1 udp 1 1.2.3.4 5 typ host ${'x'.repeat(2000)}`)).to.throw(SdpFragError, /exceeds/);
    const many = Array.from({ length: MAX_FRAG_CANDIDATES + 1 }, (_, i) => `a=candidate:${i} 1 udp 1 10.0.0.1 ${1000 + i} typ host`).join('\n');
    expect(() => parseSdpFrag(many)).to.throw(SdpFragError, /more than/);
  });

  it('tells an ICE restart (new credentials) from trickle', () => {
    const cur = { ufrag: 'EsAw', pwd: 'P2uYro0UCOQ4zxjKXaWCBui1' };
    expect(isIceRestart(parseSdpFrag(FRAG), cur)).to.equal(false);
    expect(isIceRestart(parseSdpFrag('a=end-of-candidates'), cur), 'no credentials = trickle').to.equal(false);
    expect(isIceRestart(parseSdpFrag(FRAG.replace('ufrag:EsAw', 'ufrag:Zz9q')), cur)).to.equal(true);
    expect(isIceRestart(parseSdpFrag(FRAG.replace('pwd:P2u', 'pwd:Q2u')), cur)).to.equal(true);
    expect(isIceRestart(parseSdpFrag(FRAG), undefined)).to.equal(false);
  });

  it('prechecks offers: SDP at all, and a video m-line with a supported codec (offerCheck.ts)', () => {
    expect(checkOffer('v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n', LIMITS)).to.equal(undefined);
    expect(checkOffer('{"sdp":1}', LIMITS)).to.include({ kind: 'not_sdp' });
    expect(checkOffer('v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n', LIMITS)).to.include({ kind: 'no_video' });
  });

  it('writes RFC 9725 ICE server Link values, with credentials on TURN only', () => {
    expect(iceServerLinks(['stun:stun.example.net', 'turn:turn.example.net?transport=udp', 'turns:turn.example.net:5349'], 'u', 'p')).to.deep.equal([
      '<stun:stun.example.net>; rel="ice-server"',
      '<turn:turn.example.net?transport=udp>; rel="ice-server"; username="u"; credential="p"; credential-type="password"',
      '<turns:turn.example.net:5349>; rel="ice-server"; username="u"; credential="p"; credential-type="password"',
    ]);
    expect(iceServerLinks(['turn:t.example'], '', '')).to.deep.equal(['<turn:t.example>; rel="ice-server"']);
  });

  it('matches media types and bearer tokens', () => {
    expect(hasMediaType('application/sdp', 'application/sdp')).to.equal(true);
    expect(hasMediaType('Application/SDP; charset=utf-8', 'application/sdp')).to.equal(true);
    expect(hasMediaType('text/plain', 'application/sdp')).to.equal(false);
    expect(hasMediaType(undefined, 'application/sdp')).to.equal(false);
    expect(bearerToken('Bearer abc.def')).to.equal('abc.def');
    expect(bearerToken('bearer   xyz')).to.equal('xyz');
    expect(bearerToken('Basic abc')).to.equal(undefined);
    expect(bearerToken(undefined)).to.equal(undefined);
    expect(tokenMatches('secret-token-1234', 'secret-token-1234')).to.equal(true);
    expect(tokenMatches('secret-token-1235', 'secret-token-1234')).to.equal(false);
    expect(tokenMatches('short', 'secret-token-1234')).to.equal(false);
    expect(tokenMatches(undefined, 'secret-token-1234')).to.equal(false);
  });
});
