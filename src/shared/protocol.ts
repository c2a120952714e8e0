/**
 * WebSocket signaling protocol, version 1 (JSON text frames on `/signal`).
 * Pure: parsing and validation only; shared with the browser client.
 *
 * client -> server
 *   { "type": "offer", "sdp": string, "token"?: string }     start a session (once per socket); token: bearer
 *                                                            token when the server needs one (auth.ts)
 *   { "type": "candidate", "candidate": string, "sdpMid"?: string|null, "sdpMLineIndex"?: number|null }
 *                                                            trickle ICE; candidate "" = end of candidates
 *   { "type": "bye" }                                        end the session
 * server -> client
 *   { "type": "answer", "sessionId": string, "sdp": string, "model": string, "backend": string,
 *     "maskWidth": number, "maskHeight": number }
 *   { "type": "error", "code": ErrorCode, "message": string, "retryAfterMs"?: number } then the socket may close
 *                                                            retryAfterMs (server_full only): when to try again, ms
 *   { "type": "bye", "reason": ByeReason }                   the server ended the session, then closes the socket (1000)
 *
 * Data channel "masks" (opened by the client): server -> client binary mask messages
 * (src/shared/maskCodec.ts); client -> server text acks:
 *   { "type": "ack", "seq": number, "e2eMs"?: number }      e2eMs: capture -> mask received, client clock
 */

/** Largest signaling message accepted, bytes. SDP offers from browsers are ~5-10 kB. */
export const MAX_SIGNAL_MESSAGE_BYTES = 64 * 1024;
/**
 * Frames above MAX_SIGNAL_MESSAGE_BYTES up to this size get a `too_large` error before the
 * socket closes; larger ones are cut off by the WebSocket layer (close 1009) unread, bytes.
 */
export const MAX_SIGNAL_FRAME_BYTES = 256 * 1024;
/** Protocol errors one socket may cause before the server closes it (1008). */
export const MAX_PROTOCOL_ERRORS = 5;
/** Largest ack accepted on the data channel, bytes. */
export const MAX_ACK_BYTES = 256;
/** SCTP max-message-size the server advertises for the data channel (client → server: acks only), bytes. */
export const MAX_CLIENT_DC_MESSAGE_BYTES = 1024;
export const MASKS_CHANNEL_LABEL = 'masks';

/**
 * Error codes (closed set; also the label of maskstream_signaling_errors_total).
 *  bad_json, bad_message: unreadable message (the socket closes after MAX_PROTOCOL_ERRORS);
 *  too_large: over a size limit (socket closed); bad_state: message out of order;
 *  unsupported_offer: not SDP, no video, no usable codec, absurd declared size;
 *  too_many_candidates: over MAX_SESSION_CANDIDATES (socket closed);
 *  server_full: capacity or draining (retryAfterMs; socket closed);
 *  rate_limited: per-IP session rate or count (retryAfterMs; socket closed);
 *  unauthorized: no/invalid/expired token; forbidden: token lacks the scope (socket closed);
 *  timeout: no offer within the connect timeout (socket closed); internal: server bug.
 */
export const ERROR_CODES = [
  'bad_json', 'bad_message', 'too_large', 'bad_state', 'unsupported_offer', 'too_many_candidates', 'server_full', 'rate_limited',
  'unauthorized', 'forbidden', 'timeout', 'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export type ByeReason = 'bye' | 'ice_failed' | 'timeout' | 'shutdown' | 'error';

/** Longest token accepted in an offer, characters (signed tokens are ~200). */
export const MAX_TOKEN_FIELD_CHARS = 2048;

export type ClientMessage =
  | { type: 'offer'; sdp: string; token?: string }
  | { type: 'candidate'; candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null }
  | { type: 'bye' };

export type ServerMessage =
  | { type: 'answer'; sessionId: string; sdp: string; model: string; backend: string; provider: string; maskWidth: number; maskHeight: number }
  | { type: 'error'; code: ErrorCode; message: string; retryAfterMs?: number }
  | { type: 'bye'; reason: ByeReason };

/**
 * Retry hints, seconds (WHIP `Retry-After`, WS `retryAfterMs`). Full: capacity frees as
 * sessions end. Draining: the instance is going away, and a retry through the load balancer
 * reaches another one at once.
 */
export const RETRY_AFTER_FULL_S = 5;
export const RETRY_AFTER_DRAINING_S = 1;

export interface AckMessage {
  type: 'ack';
  seq: number;
  e2eMs?: number;
}

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(text: string, limit: number): Record<string, unknown> {
  if (text.length > limit) throw new ProtocolError('too_large', `message of ${text.length} bytes exceeds the limit of ${limit}`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new ProtocolError('bad_json', 'message is not valid JSON');
  }
  if (!isObject(v)) throw new ProtocolError('bad_message', 'message must be a JSON object');
  if (typeof v.type !== 'string') throw new ProtocolError('bad_message', 'message needs a string "type"');
  return v;
}

/** Largest SDP accepted, characters. */
export const MAX_SDP_CHARS = 32 * 1024;
/** Largest ICE candidate line accepted, characters. */
export const MAX_CANDIDATE_CHARS = 1024;

export function parseClientMessage(text: string): ClientMessage {
  const v = parseJson(text, MAX_SIGNAL_MESSAGE_BYTES);
  switch (v.type) {
    case 'offer': {
      if (typeof v.sdp !== 'string' || v.sdp.length === 0) throw new ProtocolError('bad_message', 'offer needs a non-empty string "sdp"');
      if (v.sdp.length > MAX_SDP_CHARS) throw new ProtocolError('too_large', `sdp exceeds ${MAX_SDP_CHARS} characters`);
      if (!v.sdp.startsWith('v=0')) throw new ProtocolError('bad_message', 'sdp must start with "v=0"');
      if (v.token !== undefined && (typeof v.token !== 'string' || v.token.length > MAX_TOKEN_FIELD_CHARS)) {
        throw new ProtocolError('bad_message', `"token" must be a string of at most ${MAX_TOKEN_FIELD_CHARS} characters`);
      }
      return { type: 'offer', sdp: v.sdp, ...(v.token !== undefined ? { token: v.token as string } : {}) };
    }
    case 'candidate': {
      if (typeof v.candidate !== 'string') throw new ProtocolError('bad_message', 'candidate needs a string "candidate"');
      if (v.candidate.length > MAX_CANDIDATE_CHARS) throw new ProtocolError('too_large', `candidate exceeds ${MAX_CANDIDATE_CHARS} characters`);
      if (v.sdpMid !== undefined && v.sdpMid !== null && typeof v.sdpMid !== 'string') throw new ProtocolError('bad_message', '"sdpMid" must be a string or null');
      if (v.sdpMLineIndex !== undefined && v.sdpMLineIndex !== null && !(Number.isInteger(v.sdpMLineIndex) && (v.sdpMLineIndex as number) >= 0 && (v.sdpMLineIndex as number) < 64)) {
        throw new ProtocolError('bad_message', '"sdpMLineIndex" must be a small non-negative integer or null');
      }
      return { type: 'candidate', candidate: v.candidate, sdpMid: (v.sdpMid as string | null | undefined) ?? null, sdpMLineIndex: (v.sdpMLineIndex as number | null | undefined) ?? null };
    }
    case 'bye':
      return { type: 'bye' };
    default:
      throw new ProtocolError('bad_message', `unknown message type "${String(v.type).slice(0, 32)}"`);
  }
}

export function parseServerMessage(text: string): ServerMessage {
  const v = parseJson(text, MAX_SIGNAL_MESSAGE_BYTES);
  switch (v.type) {
    case 'answer':
      if (typeof v.sdp !== 'string' || typeof v.sessionId !== 'string') throw new ProtocolError('bad_message', 'answer needs "sdp" and "sessionId"');
      return v as unknown as ServerMessage;
    case 'error':
      if (typeof v.code !== 'string' || typeof v.message !== 'string') throw new ProtocolError('bad_message', 'error needs string "code" and "message"');
      if (v.retryAfterMs !== undefined && !(typeof v.retryAfterMs === 'number' && Number.isFinite(v.retryAfterMs) && v.retryAfterMs >= 0)) {
        throw new ProtocolError('bad_message', '"retryAfterMs" must be a non-negative number');
      }
      return v as unknown as ServerMessage;
    case 'bye':
      if (typeof v.reason !== 'string') throw new ProtocolError('bad_message', 'bye needs a string "reason"');
      return v as unknown as ServerMessage;
    default:
      throw new ProtocolError('bad_message', `unknown message type "${String(v.type).slice(0, 32)}"`);
  }
}

export function parseAck(text: string): AckMessage {
  const v = parseJson(text, MAX_ACK_BYTES);
  if (v.type !== 'ack') throw new ProtocolError('bad_message', 'data channel accepts only {"type":"ack"}');
  if (!Number.isInteger(v.seq) || (v.seq as number) < 0 || (v.seq as number) > 0xffffffff) throw new ProtocolError('bad_message', 'ack needs an integer "seq"');
  if (v.e2eMs !== undefined && !(typeof v.e2eMs === 'number' && Number.isFinite(v.e2eMs) && v.e2eMs >= 0 && v.e2eMs < 60_000)) {
    throw new ProtocolError('bad_message', 'ack "e2eMs" must be a finite number of ms in [0, 60000)');
  }
  return { type: 'ack', seq: v.seq as number, ...(v.e2eMs !== undefined ? { e2eMs: v.e2eMs as number } : {}) };
}
