/**
 * WebSocket signaling protocol, version 1 (JSON text frames on `/signal`).
 * Pure: parsing and validation only; shared with the browser client.
 *
 * client -> server
 *   { "type": "offer", "sdp": string }                       start a session (once per socket)
 *   { "type": "candidate", "candidate": string, "sdpMid"?: string|null, "sdpMLineIndex"?: number|null }
 *                                                            trickle ICE; candidate "" = end of candidates
 *   { "type": "bye" }                                        end the session
 * server -> client
 *   { "type": "answer", "sessionId": string, "sdp": string, "model": string, "backend": string,
 *     "maskWidth": number, "maskHeight": number }
 *   { "type": "error", "code": ErrorCode, "message": string, "retryAfterMs"?: number } then the socket may close
 *                                                            retryAfterMs (server_full only): when to try again, ms
 *   { "type": "bye", "reason": ByeReason }                   the server ended the session
 *
 * Data channel "masks" (opened by the client): server -> client binary mask messages
 * (src/egress/maskCodec.ts); client -> server text acks:
 *   { "type": "ack", "seq": number, "e2eMs"?: number }      e2eMs: capture -> mask received, client clock
 */

export const PROTOCOL_VERSION = 1;
/** Largest signaling message accepted, bytes. SDP offers from browsers are ~5-10 kB. */
export const MAX_SIGNAL_MESSAGE_BYTES = 64 * 1024;
/** Largest ack accepted on the data channel, bytes. */
export const MAX_ACK_BYTES = 256;
export const MASKS_CHANNEL_LABEL = 'masks';

export type ErrorCode =
  | 'bad_json'
  | 'bad_message'
  | 'too_large'
  | 'bad_state'
  | 'unsupported_offer'
  | 'server_full'
  | 'internal';

export type ByeReason = 'bye' | 'ice_failed' | 'timeout' | 'shutdown' | 'error';

export type ClientMessage =
  | { type: 'offer'; sdp: string }
  | { type: 'candidate'; candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null }
  | { type: 'bye' };

export type ServerMessage =
  | { type: 'answer'; sessionId: string; sdp: string; model: string; backend: string; maskWidth: number; maskHeight: number }
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
      return { type: 'offer', sdp: v.sdp };
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
    case 'bye':
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
