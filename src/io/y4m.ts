/**
 * YUV4MPEG2 (.y4m) reading and writing, 4:2:0 8-bit only: the raw format ffmpeg
 * (`-f yuv4mpegpipe`) and Chromium's fake camera use, so offline tools see exactly the planes
 * the live decoder would hand to the preprocess stage.
 *
 * Layout: one header line `YUV4MPEG2 W<w> H<h> F<n>:<d> I<i> A<n>:<d> C<cs> X<ext>…\n`
 * (space-separated tokens, each a letter and its value; unknown tokens are ignored as the
 * format asks), then per frame `FRAME[ params]\n` followed by the Y, U and V planes, no
 * padding: w×h + 2 × ceil(w/2)×ceil(h/2) bytes.
 *
 * The reader holds one frame in memory at a time: it reads the header, then each frame at its
 * byte offset with positioned reads, so clips of hundreds of MB stream in constant memory.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { I420Picture } from '../decode/types.js';

export class Y4mFormatError extends Error {
  override readonly name = 'Y4mFormatError';
}

/** Colour-space tags that mean 4:2:0 8-bit; they differ only in chroma siting, which we ignore. */
export const SUPPORTED_Y4M_COLORSPACES: readonly string[] = ['420jpeg', '420', '420paldv', '420mpeg2'];

/** Largest accepted picture, px: 8192 × 8192 (a larger header is corrupt or hostile). */
export const MAX_Y4M_PIXELS = 8192 * 8192;

/** Longest header line accepted, bytes (ffmpeg's are < 100; X tokens could add some). */
const MAX_HEADER_BYTES = 64 * 1024;
/** Longest FRAME line accepted, bytes (`FRAME` + optional parameters + `\n`). */
const MAX_FRAME_LINE_BYTES = 4096;
/** Bytes read ahead for a FRAME line; `FRAME\n` is 6, parameters are rare and short. */
const FRAME_LINE_PEEK = 256;
/** ffmpeg's default when the header has no F token (or F0:0, "unknown"). */
const DEFAULT_FRAME_RATE = { num: 25, den: 1 } as const;

const MAGIC = 'YUV4MPEG2 ';

export interface Y4mHeader {
  readonly width: number;
  readonly height: number;
  /** Frame rate as written (F<num>:<den>); 25:1 when absent or 0:0. */
  readonly frameRate: { readonly num: number; readonly den: number };
  /** Frames per second (num / den). */
  readonly fps: number;
  /** Colour-space tag without the leading C, `420jpeg` when absent. */
  readonly colorSpace: string;
  /** Interlacing tag without the leading I (`p`, `t`, `b`, `m`, or `?` when absent); frames are read as is. */
  readonly interlace: string;
  /** Extension tokens without the leading X (e.g. `COLORRANGE=FULL`), kept for callers; ignored here. */
  readonly extensions: readonly string[];
}

/** Bytes of the three planes of one width × height 4:2:0 frame. */
export function i420FrameBytes(width: number, height: number): number {
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  return width * height + 2 * cw * ch;
}

function positiveInt(token: string, what: string, where: string): number {
  const v = token.slice(1);
  if (!/^\d{1,9}$/.test(v) || Number(v) <= 0) throw new Y4mFormatError(`${where}: invalid ${what} "${token}" in the header (expected a positive integer)`);
  return Number(v);
}

/**
 * Parses the header line (without its trailing newline). Pure. `where` prefixes messages
 * (usually the file path).
 */
export function parseY4mHeader(line: string, where = 'y4m'): Y4mHeader {
  if (!line.startsWith(MAGIC)) {
    throw new Y4mFormatError(`${where} is not a YUV4MPEG2 file: it starts with ${JSON.stringify(line.slice(0, 10))}, expected "YUV4MPEG2 " (convert with ffmpeg -i <input> -pix_fmt yuv420p -f yuv4mpegpipe <output>.y4m)`);
  }
  let width: number | undefined;
  let height: number | undefined;
  let frameRate: { num: number; den: number } = { ...DEFAULT_FRAME_RATE };
  let colorSpace = '420jpeg';
  let interlace = '?';
  const extensions: string[] = [];
  // Tokens are separated by single spaces; tolerate repeated ones rather than fail on them.
  for (const token of line.slice(MAGIC.length).split(' ')) {
    if (token === '') continue;
    switch (token[0]) {
      case 'W':
        width = positiveInt(token, 'width', where);
        break;
      case 'H':
        height = positiveInt(token, 'height', where);
        break;
      case 'F': {
        const m = /^F(\d{1,10}):(\d{1,10})$/.exec(token);
        if (!m) throw new Y4mFormatError(`${where}: invalid frame rate "${token}" in the header (expected F<num>:<den>, e.g. F30:1)`);
        const num = Number(m[1]);
        const den = Number(m[2]);
        if (num === 0 && den === 0) frameRate = { ...DEFAULT_FRAME_RATE };
        else if (num === 0 || den === 0) throw new Y4mFormatError(`${where}: invalid frame rate "${token}" in the header (numerator and denominator must be positive)`);
        else frameRate = { num, den };
        break;
      }
      case 'C': {
        const cs = token.slice(1);
        if (!SUPPORTED_Y4M_COLORSPACES.includes(cs)) {
          throw new Y4mFormatError(
            `${where}: unsupported colour space "${token}": only 4:2:0 8-bit is supported (${SUPPORTED_Y4M_COLORSPACES.map((c) => 'C' + c).join(', ')}); ` +
              'convert with ffmpeg -i <input> -pix_fmt yuv420p -f yuv4mpegpipe <output>.y4m',
          );
        }
        colorSpace = cs;
        break;
      }
      case 'I':
        interlace = token.slice(1);
        break;
      case 'X':
        extensions.push(token.slice(1));
        break;
      default:
        // A (pixel aspect ratio) and tokens from future versions: the format says to ignore them.
        break;
    }
  }
  if (width === undefined) throw new Y4mFormatError(`${where}: the header has no width (W token)`);
  if (height === undefined) throw new Y4mFormatError(`${where}: the header has no height (H token)`);
  if (width * height > MAX_Y4M_PIXELS) throw new Y4mFormatError(`${where}: ${width}×${height} is larger than the supported maximum of 8192×8192 pixels`);
  return { width, height, frameRate, fps: frameRate.num / frameRate.den, colorSpace, interlace, extensions };
}

/** Sequential reader; `for await (const pic of reader.frames())`, then close(). */
export class Y4mReader implements Y4mHeader {
  readonly width: number;
  readonly height: number;
  readonly frameRate: { readonly num: number; readonly den: number };
  readonly fps: number;
  readonly colorSpace: string;
  readonly interlace: string;
  readonly extensions: readonly string[];
  /** Bytes of one frame's planes (without its FRAME line). */
  readonly frameBytes: number;
  /** Byte offset of the next FRAME line. */
  private offset: number;
  /** Frames returned so far (= index of the next one). */
  private index = 0;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    header: Y4mHeader,
    headerBytes: number,
  ) {
    this.width = header.width;
    this.height = header.height;
    this.frameRate = header.frameRate;
    this.fps = header.fps;
    this.colorSpace = header.colorSpace;
    this.interlace = header.interlace;
    this.extensions = header.extensions;
    this.frameBytes = i420FrameBytes(header.width, header.height);
    this.offset = headerBytes;
  }

  /** Opens the file and parses its header; Y4mFormatError if it is not 4:2:0 8-bit Y4M. */
  static async open(path: string): Promise<Y4mReader> {
    const fh = await open(path, 'r');
    try {
      const head = await readAt(fh, 0, MAX_HEADER_BYTES);
      if (head.length === 0) throw new Y4mFormatError(`${path} is empty, expected a YUV4MPEG2 file`);
      const nl = head.indexOf(0x0a);
      const line = head.subarray(0, nl >= 0 ? nl : head.length).toString('latin1');
      // Wrong magic first: a non-Y4M file should be named as such, not as "header has no end".
      if (!line.startsWith(MAGIC)) parseY4mHeader(line, path);
      if (nl < 0) throw new Y4mFormatError(`${path}: the YUV4MPEG2 header line has no end (no newline in its first ${head.length} bytes)`);
      return new Y4mReader(path, fh, parseY4mHeader(line, path), nl + 1);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** Index of the frame the next readFrame() returns. */
  get framesRead(): number {
    return this.index;
  }

  /**
   * The next frame, or null at the end of the file. Y4mFormatError for a missing FRAME marker
   * or a truncated frame (naming the frame and the missing bytes).
   */
  async readFrame(): Promise<I420Picture | null> {
    if (this.closed) throw new Y4mFormatError(`${this.path}: the reader is closed`);
    const i = this.index;
    // One read covers the usual `FRAME\n` line and the planes after it.
    const peek = await readAt(this.fh, this.offset, FRAME_LINE_PEEK + this.frameBytes);
    if (peek.length === 0) return null;
    const marker = peek.subarray(0, 6).toString('latin1');
    if (!'FRAME'.startsWith(marker.slice(0, 5)) || (marker.length === 6 && marker[5] !== '\n' && marker[5] !== ' ')) this.badMarker(i, peek);
    let lineBytes: number;
    let data: Buffer;
    const nl = peek.subarray(0, FRAME_LINE_PEEK).indexOf(0x0a);
    if (nl >= 0) {
      lineBytes = nl + 1;
      data = peek.subarray(lineBytes, lineBytes + this.frameBytes);
    } else if (peek.length < FRAME_LINE_PEEK) {
      throw new Y4mFormatError(`${this.path}: frame ${i} is truncated: the file ends inside its FRAME line (${peek.length} bytes at offset ${this.offset})`);
    } else {
      // FRAME parameters longer than the peek (rare): find the line's end, then read the planes.
      const r = await readLine(this.fh, this.offset, MAX_FRAME_LINE_BYTES);
      if (r.line === null) throw new Y4mFormatError(`${this.path}: frame ${i}: FRAME line at offset ${this.offset} is longer than ${MAX_FRAME_LINE_BYTES} bytes or has no end`);
      lineBytes = r.bytes;
      data = await readAt(this.fh, this.offset + lineBytes, this.frameBytes);
    }
    if (data.length < this.frameBytes) {
      throw new Y4mFormatError(`${this.path}: frame ${i} is truncated: ${this.frameBytes - data.length} of its ${this.frameBytes} bytes are missing (the file ends at byte ${this.offset + lineBytes + data.length})`);
    }
    this.offset += lineBytes + this.frameBytes;
    this.index++;
    const { width: w, height: h } = this;
    const cw = Math.ceil(w / 2);
    const ch = Math.ceil(h / 2);
    // Copy out of the read buffer so the picture owns exactly its planes (callers may keep it).
    const planes = new Uint8Array(this.frameBytes);
    planes.set(data);
    return {
      width: w,
      height: h,
      y: planes.subarray(0, w * h),
      u: planes.subarray(w * h, w * h + cw * ch),
      v: planes.subarray(w * h + cw * ch),
      yStride: w,
      uvStride: cw,
    };
  }

  /** Every remaining frame, in order; closes the file when done or abandoned. */
  async *frames(): AsyncGenerator<I420Picture, void, undefined> {
    try {
      for (let pic = await this.readFrame(); pic; pic = await this.readFrame()) yield pic;
    } finally {
      await this.close();
    }
  }

  /** Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }

  private badMarker(i: number, at: Buffer): never {
    throw new Y4mFormatError(`${this.path}: expected "FRAME" at byte ${this.offset} (frame ${i}), found ${JSON.stringify(at.subarray(0, 8).toString('latin1'))}: the file is corrupt or its header's size/colour space is wrong`);
  }
}

/** Opens a Y4M file for sequential reading (see Y4mReader). */
export function openY4m(path: string): Promise<Y4mReader> {
  return Y4mReader.open(path);
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  // read() may return fewer bytes than asked before the end of the file; loop until EOF.
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/** The line starting at `position` (without '\n') and its length including '\n'; line null if no '\n' within `max` bytes. */
async function readLine(fh: FileHandle, position: number, max: number): Promise<{ line: string | null; bytes: number }> {
  const buf = await readAt(fh, position, max);
  const nl = buf.indexOf(0x0a);
  if (nl < 0) return { line: null, bytes: buf.length };
  return { line: buf.subarray(0, nl).toString('latin1'), bytes: nl + 1 };
}

export interface Y4mWriterOptions {
  readonly width: number;
  readonly height: number;
  /** Frames per second: a number (non-integers become a fraction over 1000) or an exact fraction. */
  readonly fps: number | { readonly num: number; readonly den: number };
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** The F token's fraction for a frame rate. */
export function frameRateFraction(fps: Y4mWriterOptions['fps']): { num: number; den: number } {
  if (typeof fps === 'object') {
    if (!(Number.isInteger(fps.num) && Number.isInteger(fps.den) && fps.num > 0 && fps.den > 0)) throw new RangeError(`frame rate ${fps.num}:${fps.den} must be two positive integers`);
    return { num: fps.num, den: fps.den };
  }
  if (!(Number.isFinite(fps) && fps > 0)) throw new RangeError(`frame rate must be a positive number, got ${fps}`);
  if (Number.isInteger(fps)) return { num: fps, den: 1 };
  const num = Math.round(fps * 1000);
  const g = gcd(num, 1000);
  return { num: num / g, den: 1000 / g };
}

/** The header line the writer emits (with its newline): progressive, square pixels, C420jpeg. */
export function y4mHeaderLine(o: Y4mWriterOptions): string {
  const { num, den } = frameRateFraction(o.fps);
  return `YUV4MPEG2 W${o.width} H${o.height} F${num}:${den} Ip A1:1 C420jpeg\n`;
}

/** Writes frames one at a time; any plane strides are accepted and packed. close() when done. */
export class Y4mWriter {
  private closed = false;
  private written = 0;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly o: Y4mWriterOptions,
  ) {}

  static async create(path: string, o: Y4mWriterOptions): Promise<Y4mWriter> {
    if (!(Number.isInteger(o.width) && Number.isInteger(o.height) && o.width > 0 && o.height > 0 && o.width * o.height <= MAX_Y4M_PIXELS)) {
      throw new RangeError(`cannot write a ${o.width}×${o.height} Y4M: sizes must be positive integers, at most 8192×8192 pixels`);
    }
    const header = y4mHeaderLine(o);
    const fh = await open(path, 'w');
    try {
      await fh.write(header);
    } catch (e) {
      await fh.close();
      throw e;
    }
    return new Y4mWriter(path, fh, o);
  }

  get framesWritten(): number {
    return this.written;
  }

  async write(pic: I420Picture): Promise<void> {
    if (this.closed) throw new Error(`${this.path}: the Y4M writer is closed`);
    const { width: w, height: h } = this.o;
    if (pic.width !== w || pic.height !== h) throw new RangeError(`frame ${this.written} is ${pic.width}×${pic.height}, the file is ${w}×${h}`);
    const cw = Math.ceil(w / 2);
    const ch = Math.ceil(h / 2);
    // One buffer per frame: "FRAME\n" + packed planes, so each frame is a single write.
    const out = Buffer.allocUnsafe(6 + i420FrameBytes(w, h));
    out.write('FRAME\n', 0, 'latin1');
    let o = 6;
    const pack = (plane: Uint8Array, stride: number, pw: number, ph: number, name: string) => {
      if (stride < pw || plane.length < stride * (ph - 1) + pw) throw new RangeError(`frame ${this.written}: ${name} plane too small for ${pw}×${ph} at stride ${stride}`);
      for (let y = 0; y < ph; y++, o += pw) out.set(plane.subarray(y * stride, y * stride + pw), o);
    };
    pack(pic.y, pic.yStride, w, h, 'Y');
    pack(pic.u, pic.uvStride, cw, ch, 'U');
    pack(pic.v, pic.uvStride, cw, ch, 'V');
    await this.fh.write(out);
    this.written++;
  }

  /** Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }
}

/** Writes a whole sequence to `path`. */
export async function writeY4m(path: string, frames: Iterable<I420Picture> | AsyncIterable<I420Picture>, o: Y4mWriterOptions): Promise<number> {
  const w = await Y4mWriter.create(path, o);
  try {
    for await (const f of frames) await w.write(f);
  } finally {
    await w.close();
  }
  return w.framesWritten;
}
