/**
 * Checks an SDP offer before a session (and its peer connection, UDP sockets) is created, for
 * both WebSocket signaling and WHIP: is it SDP at all, is it within the size bounds (media
 * sections, candidates), does it offer video in a codec the server decodes, and does it
 * declare an absurd picture size. Pure; the answer says what is wrong in words a user can act on.
 *
 * The codec check here is coarse (an rtpmap names VP8 or H264); Session.answer() checks what
 * werift actually negotiated. Sizes are also enforced in the media path (frameAssembler.ts).
 */

export type OfferProblemKind =
  /** Not SDP: no `v=0` first line, or a line that is not `<letter>=…`. */
  | 'not_sdp'
  | 'too_many_media'
  | 'too_many_candidates'
  | 'no_video'
  | 'unsupported_codec'
  /** `a=imageattr` / `a=framesize` declares a picture above maxFramePixels. */
  | 'resolution_too_large';

export interface OfferProblem {
  readonly kind: OfferProblemKind;
  readonly message: string;
}

/** Media sections (m= lines) accepted in one offer (a browser sends 1–3). */
export const MAX_MEDIA_SECTIONS = 8;
/** ICE candidates per session, in the offer plus trickled ones (a browser gathers ~2–10). */
export const MAX_SESSION_CANDIDATES = 64;

export interface OfferLimits {
  /** Largest picture a stream may declare, px (config maxFramePixels). */
  readonly maxFramePixels: number;
}

const SDP_LINE = /^[a-z]=/;

/** Problems of an SDP offer, or undefined when it may go on to a session. */
export function checkOffer(sdp: string, limits: OfferLimits): OfferProblem | undefined {
  if (!sdp.startsWith('v=0')) return { kind: 'not_sdp', message: 'the offer is not SDP (it must start with "v=0")' };
  const lines = sdp.split(/\r?\n/);
  let media = 0;
  let candidates = 0;
  let inVideo = false;
  let hasVideo = false;
  let videoCodec = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    if (!SDP_LINE.test(line)) return { kind: 'not_sdp', message: `the offer is not SDP: line ${i + 1} does not start with "<letter>="` };
    if (line.startsWith('m=')) {
      media++;
      inVideo = line.startsWith('m=video ');
      hasVideo ||= inVideo;
    } else if (line.startsWith('a=candidate:')) {
      candidates++;
    } else if (inVideo && /^a=rtpmap:\d+ (VP8|H264)\/90000/i.test(line)) {
      videoCodec = true;
    } else if (line.startsWith('a=imageattr:') || line.startsWith('a=framesize:')) {
      const px = declaredPixels(line);
      if (px > limits.maxFramePixels) {
        return { kind: 'resolution_too_large', message: `the offer declares a picture of ${px} px ("${line.slice(0, 60)}"); this server accepts at most ${limits.maxFramePixels} px (maxFramePixels)` };
      }
    }
  }
  if (media > MAX_MEDIA_SECTIONS) return { kind: 'too_many_media', message: `the offer has ${media} media sections; at most ${MAX_MEDIA_SECTIONS} are accepted` };
  if (candidates > MAX_SESSION_CANDIDATES) return { kind: 'too_many_candidates', message: `the offer has ${candidates} ICE candidates; at most ${MAX_SESSION_CANDIDATES} per session are accepted` };
  if (!hasVideo) return { kind: 'no_video', message: 'the offer has no video m-line (this server segments video)' };
  if (!videoCodec) return { kind: 'unsupported_codec', message: 'the offer has no supported video codec (offer VP8 or H.264 packetization-mode=1)' };
  return undefined;
}

/** A declared side longer than this is absurd on its own (VP8 sizes are 14-bit; H.264 level 6.2 tops out at 8192), px. */
export const MAX_DECLARED_SIDE = 16384;

/**
 * Largest picture a size attribute declares, px: `a=imageattr:<pt> send [x=W,y=H] …` (RFC 6236;
 * ranges `[x=[a:b],y=…]` and lists `[x=[a,b],…]` count with their largest value) and
 * `a=framesize:<pt> W-H` (3GPP). A side over MAX_DECLARED_SIDE makes it Infinity whatever the
 * other side (found by fuzzing: 10^10 × 0 was NaN, which compared as "not too large").
 */
export function declaredPixels(line: string): number {
  const side = (digits: string) => (digits.length > 9 || Number(digits) > MAX_DECLARED_SIDE ? Infinity : Number(digits));
  const area = (w: number, h: number) => (w === Infinity || h === Infinity ? Infinity : w * h);
  const fs = /^a=framesize:\S+ (\d+)-(\d+)/.exec(line);
  if (fs) return area(side(fs[1]!), side(fs[2]!));
  let max = 0;
  // One bracketed set, with nested [ranges] inside (one level, as RFC 6236 has it).
  for (const group of line.matchAll(/\[((?:[^[\]]|\[[^[\]]*\])*)\]/g)) {
    const body = group[1]!;
    const dim = (axis: 'x' | 'y') => {
      const m = new RegExp(`${axis}=(\\[[^\\]]*\\]|\\d+)`).exec(body);
      if (!m) return 0;
      return Math.max(0, ...[...m[1]!.matchAll(/\d+/g)].map((d) => side(d[0])));
    };
    max = Math.max(max, area(dim('x'), dim('y')));
  }
  return max;
}
