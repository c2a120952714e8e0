/**
 * WHIP (RFC 9725) pieces that need no sockets: the trickle-ICE SDP fragment parser
 * (RFC 8840 `application/trickle-ice-sdpfrag`), `Link: rel="ice-server"` headers, bearer
 * token helpers (the rules are in auth.ts) and media-type matching; offer checks are in
 * offerCheck.ts. whipEndpoint.ts is the HTTP adapter around them.
 */
import { safeEqual } from './auth.js';
import { MAX_CANDIDATE_CHARS, MAX_SDP_CHARS } from '../shared/protocol.js';

export const SDP_TYPE = 'application/sdp';
export const SDPFRAG_TYPE = 'application/trickle-ice-sdpfrag';
/** Largest WHIP request body (offer or sdpfrag), bytes: the WebSocket protocol's SDP limit. */
export const MAX_WHIP_BODY_BYTES = MAX_SDP_CHARS;
/** Most candidates one PATCH may carry (a browser trickles a handful per request). */
export const MAX_FRAG_CANDIDATES = 64;

/** The body is not a usable trickle-ICE fragment (HTTP 400). */
export class SdpFragError extends Error {
  override readonly name = 'SdpFragError';
}

export interface FragCandidate {
  /** `candidate:…` (the a= prefix removed), as RTCPeerConnection.addIceCandidate takes it. */
  readonly candidate: string;
  readonly sdpMid: string | null;
  readonly sdpMLineIndex: number;
}

export interface SdpFrag {
  /** ICE credentials of the fragment (session or media level); a change from the offer's means ICE restart. */
  readonly ufrag?: string;
  readonly pwd?: string;
  readonly candidates: readonly FragCandidate[];
  readonly endOfCandidates: boolean;
}

/** Parses an RFC 8840 SDP fragment: ice-ufrag/ice-pwd, m= sections with a=mid, a=candidate, a=end-of-candidates. */
export function parseSdpFrag(text: string): SdpFrag {
  let ufrag: string | undefined;
  let pwd: string | undefined;
  const candidates: FragCandidate[] = [];
  let endOfCandidates = false;
  let mLineIndex = -1;
  let mid: string | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trimEnd();
    if (line === '') continue;
    if (!/^[a-z]=/.test(line)) throw new SdpFragError(`not an SDP line: "${line.slice(0, 40)}"`);
    if (line.startsWith('m=')) {
      mLineIndex++;
      mid = null;
    } else if (line.startsWith('a=mid:')) {
      mid = line.slice(6);
    } else if (line.startsWith('a=ice-ufrag:')) {
      ufrag = line.slice(12);
    } else if (line.startsWith('a=ice-pwd:')) {
      pwd = line.slice(10);
    } else if (line.startsWith('a=candidate:')) {
      const candidate = line.slice(2);
      if (candidate.length > MAX_CANDIDATE_CHARS) throw new SdpFragError(`a candidate exceeds ${MAX_CANDIDATE_CHARS} characters`);
      // foundation component transport priority address port "typ" type
      if (!/^candidate:\S+ \d+ \S+ \d+ \S+ \d+ typ \S+/.test(candidate)) throw new SdpFragError(`malformed candidate: "${candidate.slice(0, 60)}"`);
      if (candidates.length >= MAX_FRAG_CANDIDATES) throw new SdpFragError(`more than ${MAX_FRAG_CANDIDATES} candidates in one fragment`);
      candidates.push({ candidate, sdpMid: mid, sdpMLineIndex: Math.max(0, mLineIndex) });
    } else if (line === 'a=end-of-candidates') {
      endOfCandidates = true;
    }
    // Anything else (a=group, c=, …) carries nothing we act on.
  }
  return { ...(ufrag !== undefined ? { ufrag } : {}), ...(pwd !== undefined ? { pwd } : {}), candidates, endOfCandidates };
}

/** Whether the fragment asks for an ICE restart: new credentials that differ from the current ones. */
export function isIceRestart(frag: SdpFrag, current: { ufrag: string; pwd: string } | undefined): boolean {
  if (!current) return false;
  return (frag.ufrag !== undefined && frag.ufrag !== current.ufrag) || (frag.pwd !== undefined && frag.pwd !== current.pwd);
}

/**
 * `Link` header values for RFC 9725 §4.6 ICE server configuration; TURN URLs carry the
 * static credential. Values are validated by config.ts (no quotes, commas or brackets).
 */
export function iceServerLinks(urls: readonly string[], username: string, credential: string): string[] {
  return urls.map((u) => {
    const turn = /^turns?:/.test(u);
    const auth = turn && username ? `; username="${username}"; credential="${credential}"; credential-type="password"` : '';
    return `<${u}>; rel="ice-server"${auth}`;
  });
}

/** Whether a Content-Type header names `type` (parameters such as charset ignored). */
export function hasMediaType(header: string | undefined, type: string): boolean {
  return (header ?? '').split(';')[0]!.trim().toLowerCase() === type;
}

export { bearerToken } from './auth.js';

/** Constant-time token comparison (hashes first, so lengths leak nothing either). */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
  return presented !== undefined && safeEqual(presented, expected);
}
