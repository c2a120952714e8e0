/** Page options from the URL query string. */

/** The page's effects, as its menu names them: blur background, replace background, show mask. */
export const EFFECTS = ['blur', 'replace', 'mask'] as const;
export type Effect = (typeof EFFECTS)[number];
export type VideoCodec = 'vp8' | 'h264';

export interface ClientOptions {
  /** `?autostart=1`: start without a click (tests). */
  readonly autostart: boolean;
  /** `?ice=`: JSON (RTCIceServer or an array of them) or comma-separated URLs. Default none. */
  readonly iceServers: RTCIceServer[];
  /** `?codec=h264` prefers H.264; default VP8. */
  readonly codec: VideoCodec;
  /** `?effect=blur|replace|mask`, default blur (`none`, the old name of `mask`, still works). */
  readonly effect: Effect;
  /** `?token=`: bearer token for a server that requires one (sent in the offer, not the socket URL). */
  readonly token: string | undefined;
}

export function isEffect(v: string | null): v is Effect {
  return v !== null && (EFFECTS as readonly string[]).includes(v);
}

export function parseIceServers(raw: string | null): RTCIceServer[] {
  if (raw === null || raw.trim() === '') return [];
  const text = raw.trim();
  if (text.startsWith('[') || text.startsWith('{')) {
    const v: unknown = JSON.parse(text);
    const list = Array.isArray(v) ? v : [v];
    return list.map((s, i) => {
      if (typeof s !== 'object' || s === null || !('urls' in s)) throw new Error(`?ice= entry ${i} needs "urls"`);
      return s as RTCIceServer;
    });
  }
  return [{ urls: text.split(',').map((u) => u.trim()).filter((u) => u.length > 0) }];
}

export function parseOptions(search: string): ClientOptions {
  const q = new URLSearchParams(search);
  const raw = q.get('effect');
  const effect = raw === 'none' ? 'mask' : raw;
  return {
    autostart: q.get('autostart') === '1' || q.get('autostart') === 'true',
    iceServers: parseIceServers(q.get('ice')),
    codec: q.get('codec')?.toLowerCase() === 'h264' ? 'h264' : 'vp8',
    effect: isEffect(effect) ? effect : 'blur',
    token: q.get('token') || undefined,
  };
}
