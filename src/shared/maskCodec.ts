/**
 * Mask message codec, versions 1 and 2. Pure: shared by the server (encode) and the
 * browser client (decode; bundled by esbuild). Layout documented in docs/architecture.md
 * ("Mask message format"). All multi-byte fields little-endian.
 *
 * Version 1 (a frame segmented on the whole picture):
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
 *
 * Version 2 (a frame segmented on crops): the same, version 2, then after the payload the
 * detail layers, each a crop's mask at the model's resolution over the crop, which the
 * receiver draws over the whole-picture mask inside its box (see maskCompose.ts):
 *    0  2   pictureWidth, px (u16): the picture the boxes are in
 *    2  2   pictureHeight, px (u16)
 *    4  1   detail count (u8, ≤ MASK_MAX_DETAILS)
 *   per detail: x, y, width, height of its box in picture px (4 × u16), grid width, grid
 *   height (2 × u16), encoding (u8), payloadLength (u32), payload
 */

export const MASK_MAGIC_0 = 0x4d; // 'M'
export const MASK_MAGIC_1 = 0x53; // 'S'
export const MASK_VERSION = 1;
/** The version that carries detail layers. */
export const MASK_VERSION_DETAILS = 2;
export const MASK_HEADER_BYTES = 60;
/** Most detail layers in one message. */
export const MASK_MAX_DETAILS = 16;
const DETAIL_HEADER_BYTES = 17;
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
  /** Picture the detail boxes are in (version 2; absent in version 1). */
  pictureWidth?: number;
  pictureHeight?: number;
  /** Detail layers (version 2), empty in version 1. */
  details: MaskDetailLayer[];
}

/** A crop's mask over its box of the picture (picture px), grid width × height bytes. */
export interface MaskDetailLayer {
  box: { x: number; y: number; width: number; height: number };
  width: number;
  height: number;
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
  /** Detail layers and the picture their boxes are in: a version 2 message when non-empty. */
  details?: readonly MaskDetailLayer[];
  pictureWidth?: number;
  pictureHeight?: number;
}

/** RLE when smaller, else raw. */
function pack(alpha: Uint8Array, preferred: MaskEncoding): { encoding: MaskEncoding; payload: Uint8Array } {
  if (preferred === MaskEncoding.Rle) {
    const rle = encodeRle(alpha);
    if (rle.length < alpha.length) return { encoding: MaskEncoding.Rle, payload: rle };
  }
  return { encoding: MaskEncoding.Raw, payload: alpha };
}

function unpack(encoding: number, payload: Uint8Array, width: number, height: number, what: string): Uint8Array {
  if (encoding === MaskEncoding.Raw) {
    if (payload.length !== width * height) throw new MaskCodecError(`${what}: raw payload size does not match width × height`);
    return payload.slice();
  }
  if (encoding === MaskEncoding.Rle) return decodeRle(payload, width * height);
  throw new MaskCodecError(`${what}: unknown encoding ${encoding}`);
}

export function encodeMask(m: EncodeInput): Uint8Array {
  if (!Number.isInteger(m.width) || !Number.isInteger(m.height) || m.width < 1 || m.height < 1 || m.width > 0xffff || m.height > 0xffff) {
    throw new MaskCodecError(`bad mask size ${m.width}x${m.height}`);
  }
  if (m.alpha.length !== m.width * m.height) {
    throw new MaskCodecError(`alpha has ${m.alpha.length} bytes, expected ${m.width * m.height}`);
  }
  const preferred = m.encoding ?? MaskEncoding.Rle;
  const { encoding, payload } = pack(m.alpha, preferred);
  const details = m.details ?? [];
  const trailer = details.length ? encodeDetails(details, m.pictureWidth ?? 0, m.pictureHeight ?? 0, preferred) : undefined;
  const buf = new Uint8Array(MASK_HEADER_BYTES + payload.length + (trailer?.length ?? 0));
  const dv = new DataView(buf.buffer);
  buf[0] = MASK_MAGIC_0;
  buf[1] = MASK_MAGIC_1;
  buf[2] = trailer ? MASK_VERSION_DETAILS : MASK_VERSION;
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
  if (trailer) buf.set(trailer, MASK_HEADER_BYTES + payload.length);
  return buf;
}

function encodeDetails(details: readonly MaskDetailLayer[], pw: number, ph: number, preferred: MaskEncoding): Uint8Array {
  if (details.length > MASK_MAX_DETAILS) throw new MaskCodecError(`${details.length} detail layers, at most ${MASK_MAX_DETAILS}`);
  if (!(Number.isInteger(pw) && Number.isInteger(ph) && pw >= 1 && ph >= 1 && pw <= 0xffff && ph <= 0xffff)) throw new MaskCodecError(`bad picture size ${pw}x${ph} for detail layers`);
  const packed = details.map((d, k) => {
    const b = d.box;
    const ints = [b.x, b.y, b.width, b.height, d.width, d.height];
    if (!ints.every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffff) || b.width < 1 || b.height < 1 || d.width < 1 || d.height < 1 || b.x + b.width > pw || b.y + b.height > ph) {
      throw new MaskCodecError(`detail ${k}: bad box ${b.width}x${b.height}+${b.x}+${b.y} or grid ${d.width}x${d.height} in a ${pw}x${ph} picture`);
    }
    if (d.alpha.length !== d.width * d.height) throw new MaskCodecError(`detail ${k}: alpha has ${d.alpha.length} bytes, expected ${d.width * d.height}`);
    return { d, ...pack(d.alpha, preferred) };
  });
  const out = new Uint8Array(5 + packed.reduce((n, p) => n + DETAIL_HEADER_BYTES + p.payload.length, 0));
  const dv = new DataView(out.buffer);
  dv.setUint16(0, pw, true);
  dv.setUint16(2, ph, true);
  out[4] = packed.length;
  let o = 5;
  for (const { d, encoding, payload } of packed) {
    dv.setUint16(o, d.box.x, true);
    dv.setUint16(o + 2, d.box.y, true);
    dv.setUint16(o + 4, d.box.width, true);
    dv.setUint16(o + 6, d.box.height, true);
    dv.setUint16(o + 8, d.width, true);
    dv.setUint16(o + 10, d.height, true);
    out[o + 12] = encoding;
    dv.setUint32(o + 13, payload.length, true);
    out.set(payload, o + DETAIL_HEADER_BYTES);
    o += DETAIL_HEADER_BYTES + payload.length;
  }
  return out;
}

/** Patch the encode time into an already encoded message (it is known only after encoding). */
export function stampEncodeMs(buf: Uint8Array, encodeMs: number): void {
  new DataView(buf.buffer, buf.byteOffset, buf.byteLength).setFloat32(44, encodeMs, true);
}

/** Patch the send time (and serverMs) into an already encoded message, just before sending. */
export function stampSendTime(buf: Uint8Array, serverSendTime: number, serverMs: number): void {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  dv.setFloat64(16, serverSendTime, true);
  dv.setFloat32(48, serverMs, true);
}

/** The fixed header of a mask message: everything but the mask and its detail layers. */
export type MaskHeader = Omit<MaskMessage, 'alpha' | 'details' | 'pictureWidth' | 'pictureHeight'> & { readonly version: number; readonly payloadLength: number };

/** Reads and checks the header alone (monitors and benchmarks that need only seq and timings). */
export function readMaskHeader(input: Uint8Array | ArrayBuffer): MaskHeader {
  const buf = input instanceof Uint8Array ? input : new Uint8Array(input);
  if (buf.length < MASK_HEADER_BYTES) throw new MaskCodecError(`message too short: ${buf.length} bytes`);
  if (buf[0] !== MASK_MAGIC_0 || buf[1] !== MASK_MAGIC_1) throw new MaskCodecError('bad magic');
  const version = buf[2]!;
  if (version !== MASK_VERSION && version !== MASK_VERSION_DETAILS) throw new MaskCodecError(`unsupported version ${version}`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const width = dv.getUint16(12, true);
  const height = dv.getUint16(14, true);
  if (width < 1 || height < 1 || width * height > MASK_MAX_PIXELS) throw new MaskCodecError(`bad mask size ${width}x${height}`);
  const payloadLength = dv.getUint32(56, true);
  const end = MASK_HEADER_BYTES + payloadLength;
  if (version === MASK_VERSION ? end !== buf.length : end > buf.length) {
    throw new MaskCodecError(`payload length ${payloadLength} does not match message size ${buf.length}`);
  }
  return {
    version,
    seq: dv.getUint32(4, true),
    rtpTimestamp: dv.getUint32(8, true),
    width,
    height,
    encoding: buf[3]! as MaskEncoding,
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
    payloadLength,
  };
}

export function decodeMask(input: Uint8Array | ArrayBuffer): MaskMessage {
  const buf = input instanceof Uint8Array ? input : new Uint8Array(input);
  const { version, payloadLength, ...head } = readMaskHeader(buf);
  const end = MASK_HEADER_BYTES + payloadLength;
  const alpha = unpack(head.encoding, buf.subarray(MASK_HEADER_BYTES, end), head.width, head.height, 'mask');
  const msg: MaskMessage = { ...head, alpha, details: [] };
  if (version === MASK_VERSION_DETAILS) decodeDetails(buf, new DataView(buf.buffer, buf.byteOffset, buf.byteLength), end, msg);
  return msg;
}

function decodeDetails(buf: Uint8Array, dv: DataView, start: number, msg: MaskMessage): void {
  if (start + 5 > buf.length) throw new MaskCodecError('version 2 message without its detail header');
  const pw = dv.getUint16(start, true);
  const ph = dv.getUint16(start + 2, true);
  const count = buf[start + 4]!;
  if (pw < 1 || ph < 1) throw new MaskCodecError(`bad picture size ${pw}x${ph}`);
  if (count < 1 || count > MASK_MAX_DETAILS) throw new MaskCodecError(`detail count ${count} outside 1..${MASK_MAX_DETAILS}`);
  msg.pictureWidth = pw;
  msg.pictureHeight = ph;
  let o = start + 5;
  for (let k = 0; k < count; k++) {
    if (o + DETAIL_HEADER_BYTES > buf.length) throw new MaskCodecError(`detail ${k}: truncated header`);
    const box = { x: dv.getUint16(o, true), y: dv.getUint16(o + 2, true), width: dv.getUint16(o + 4, true), height: dv.getUint16(o + 6, true) };
    const w = dv.getUint16(o + 8, true);
    const h = dv.getUint16(o + 10, true);
    const enc = buf[o + 12]!;
    const len = dv.getUint32(o + 13, true);
    if (box.width < 1 || box.height < 1 || box.x + box.width > pw || box.y + box.height > ph) throw new MaskCodecError(`detail ${k}: box ${box.width}x${box.height}+${box.x}+${box.y} outside the ${pw}x${ph} picture`);
    if (w < 1 || h < 1 || w * h > MASK_MAX_PIXELS) throw new MaskCodecError(`detail ${k}: bad grid ${w}x${h}`);
    const s = o + DETAIL_HEADER_BYTES;
    if (s + len > buf.length) throw new MaskCodecError(`detail ${k}: payload length ${len} runs past the message`);
    msg.details.push({ box, width: w, height: h, alpha: unpack(enc, buf.subarray(s, s + len), w, h, `detail ${k}`) });
    o = s + len;
  }
  if (o !== buf.length) throw new MaskCodecError(`${buf.length - o} bytes after the last detail layer`);
}
