/**
 * Mask message codec, version 1. Pure: shared by the server (encode) and the
 * browser client (decode; bundled by esbuild). Layout documented in README
 * ("Mask message format"). All multi-byte fields little-endian.
 *
 *  off size field
 *    0  2   magic 0x4D53 ("MS" read as LE u16 0x534D) -> bytes 'M','S'
 *    2  1   version (1)
 *    3  1   encoding: 0 = raw 8-bit alpha, 1 = run-length (see encodeRle)
 *    4  4   seq: frame sequence number within the session (u32)
 *    8  4   rtpTimestamp of the source frame (u32, 90 kHz)
 *   12  2   width, px (u16)
 *   14  2   height, px (u16)
 *   16  8   serverSendTime: ms since the Unix epoch on the server clock (f64)
 *   24  4   receiveMs: first packet -> frame complete (f32)
 *   28  4   decodeMs (f32)
 *   32  4   preprocessMs (f32)
 *   36  4   inferenceMs (f32)
 *   40  4   temporalMs (f32)
 *   44  4   encodeMs (f32)
 *   48  4   serverMs: frame complete -> send (f32), includes queueing
 *   52  4   droppedFrames: frames this session dropped so far (u32)
 *   56  4   payloadLength in bytes (u32)
 *   60  ... payload
 */

export const MASK_MAGIC_0 = 0x4d; // 'M'
export const MASK_MAGIC_1 = 0x53; // 'S'
export const MASK_VERSION = 1;
export const MASK_HEADER_BYTES = 60;
/** Largest mask we accept to decode, px (guards hostile or corrupt messages). */
export const MASK_MAX_PIXELS = 4096 * 4096;

export const MaskEncoding = { Raw: 0, Rle: 1 } as const;
export type MaskEncoding = (typeof MaskEncoding)[keyof typeof MaskEncoding];

export interface MaskTimings {
  receiveMs: number;
  decodeMs: number;
  preprocessMs: number;
  inferenceMs: number;
  temporalMs: number;
  encodeMs: number;
  serverMs: number;
}

export interface MaskMessage {
  seq: number;
  rtpTimestamp: number;
  width: number;
  height: number;
  encoding: MaskEncoding;
  serverSendTime: number;
  timings: MaskTimings;
  droppedFrames: number;
  /** Decoded 8-bit alpha, width × height. */
  alpha: Uint8Array;
}

export class MaskCodecError extends Error {
  override readonly name = 'MaskCodecError';
}

/**
 * Run-length encoding of bytes: a sequence of (runLength u8 1..255, value u8) pairs.
 * Masks are mostly saturated (0 or 255), so runs are long; soft edges cost 2 bytes/px
 * in the worst case, hence the encoder falls back to raw when RLE is not smaller.
 */
export function encodeRle(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(src.length * 2 + 2);
  let o = 0;
  let i = 0;
  while (i < src.length) {
    const v = src[i]!;
    let run = 1;
    while (run < 255 && i + run < src.length && src[i + run] === v) run++;
    out[o++] = run;
    out[o++] = v;
    i += run;
  }
  return out.subarray(0, o);
}

export function decodeRle(src: Uint8Array, expectedLength: number): Uint8Array {
  if (src.length % 2 !== 0) throw new MaskCodecError('RLE payload has odd length');
  // Checked before allocating: a 60-byte message declaring 4096×4096 would otherwise cost a
  // 16 MiB buffer before failing (found by fuzzing). Each pair covers at most 255 pixels.
  if ((src.length / 2) * 255 < expectedLength) throw new MaskCodecError(`RLE payload of ${src.length} bytes cannot cover ${expectedLength} pixels`);
  const out = new Uint8Array(expectedLength);
  let o = 0;
  for (let i = 0; i < src.length; i += 2) {
    const run = src[i]!;
    if (run === 0) throw new MaskCodecError('RLE run of length 0');
    if (o + run > expectedLength) throw new MaskCodecError('RLE payload longer than width × height');
    out.fill(src[i + 1]!, o, o + run);
    o += run;
  }
  if (o !== expectedLength) throw new MaskCodecError(`RLE payload decodes to ${o} bytes, expected ${expectedLength}`);
  return out;
}

export interface EncodeInput {
  seq: number;
  rtpTimestamp: number;
  width: number;
  height: number;
  alpha: Uint8Array;
  serverSendTime: number;
  timings: MaskTimings;
  droppedFrames: number;
  /** Preferred encoding; RLE falls back to raw when it would be larger. Default RLE. */
  encoding?: MaskEncoding;
}

export function encodeMask(m: EncodeInput): Uint8Array {
  if (!Number.isInteger(m.width) || !Number.isInteger(m.height) || m.width < 1 || m.height < 1 || m.width > 0xffff || m.height > 0xffff) {
    throw new MaskCodecError(`bad mask size ${m.width}x${m.height}`);
  }
  if (m.alpha.length !== m.width * m.height) {
    throw new MaskCodecError(`alpha has ${m.alpha.length} bytes, expected ${m.width * m.height}`);
  }
  let encoding: MaskEncoding = m.encoding ?? MaskEncoding.Rle;
  let payload = m.alpha;
  if (encoding === MaskEncoding.Rle) {
    const rle = encodeRle(m.alpha);
    if (rle.length < m.alpha.length) payload = rle;
    else encoding = MaskEncoding.Raw;
  }
  const buf = new Uint8Array(MASK_HEADER_BYTES + payload.length);
  const dv = new DataView(buf.buffer);
  buf[0] = MASK_MAGIC_0;
  buf[1] = MASK_MAGIC_1;
  buf[2] = MASK_VERSION;
  buf[3] = encoding;
  dv.setUint32(4, m.seq >>> 0, true);
  dv.setUint32(8, m.rtpTimestamp >>> 0, true);
  dv.setUint16(12, m.width, true);
  dv.setUint16(14, m.height, true);
  dv.setFloat64(16, m.serverSendTime, true);
  const t = m.timings;
  dv.setFloat32(24, t.receiveMs, true);
  dv.setFloat32(28, t.decodeMs, true);
  dv.setFloat32(32, t.preprocessMs, true);
  dv.setFloat32(36, t.inferenceMs, true);
  dv.setFloat32(40, t.temporalMs, true);
  dv.setFloat32(44, t.encodeMs, true);
  dv.setFloat32(48, t.serverMs, true);
  dv.setUint32(52, m.droppedFrames >>> 0, true);
  dv.setUint32(56, payload.length, true);
  buf.set(payload, MASK_HEADER_BYTES);
  return buf;
}

/** Patch the send time (and serverMs) into an already encoded message, just before sending. */
export function stampSendTime(buf: Uint8Array, serverSendTime: number, serverMs: number): void {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  dv.setFloat64(16, serverSendTime, true);
  dv.setFloat32(48, serverMs, true);
}

export function decodeMask(input: Uint8Array | ArrayBuffer): MaskMessage {
  const buf = input instanceof Uint8Array ? input : new Uint8Array(input);
  if (buf.length < MASK_HEADER_BYTES) throw new MaskCodecError(`message too short: ${buf.length} bytes`);
  if (buf[0] !== MASK_MAGIC_0 || buf[1] !== MASK_MAGIC_1) throw new MaskCodecError('bad magic');
  if (buf[2] !== MASK_VERSION) throw new MaskCodecError(`unsupported version ${buf[2]}`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const encoding = buf[3]! as MaskEncoding;
  const width = dv.getUint16(12, true);
  const height = dv.getUint16(14, true);
  if (width < 1 || height < 1 || width * height > MASK_MAX_PIXELS) throw new MaskCodecError(`bad mask size ${width}x${height}`);
  const payloadLength = dv.getUint32(56, true);
  if (MASK_HEADER_BYTES + payloadLength !== buf.length) {
    throw new MaskCodecError(`payload length ${payloadLength} does not match message size ${buf.length}`);
  }
  const payload = buf.subarray(MASK_HEADER_BYTES);
  let alpha: Uint8Array;
  if (encoding === MaskEncoding.Raw) {
    if (payload.length !== width * height) throw new MaskCodecError('raw payload size does not match width × height');
    alpha = payload.slice();
  } else if (encoding === MaskEncoding.Rle) {
    alpha = decodeRle(payload, width * height);
  } else {
    throw new MaskCodecError(`unknown encoding ${encoding}`);
  }
  return {
    seq: dv.getUint32(4, true),
    rtpTimestamp: dv.getUint32(8, true),
    width,
    height,
    encoding,
    serverSendTime: dv.getFloat64(16, true),
    timings: {
      receiveMs: dv.getFloat32(24, true),
      decodeMs: dv.getFloat32(28, true),
      preprocessMs: dv.getFloat32(32, true),
      inferenceMs: dv.getFloat32(36, true),
      temporalMs: dv.getFloat32(40, true),
      encodeMs: dv.getFloat32(44, true),
      serverMs: dv.getFloat32(48, true),
    },
    droppedFrames: dv.getUint32(52, true),
    alpha,
  };
}
