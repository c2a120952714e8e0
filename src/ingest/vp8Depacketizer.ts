/**
 * VP8 RTP depacketization (RFC 7741): the payload descriptor of each packet is stripped and
 * the VP8 partitions of one frame are concatenated. Pure functions over one frame's payloads.
 */

export class DepacketizeError extends Error {
  override readonly name = 'DepacketizeError';
}

export interface Vp8Descriptor {
  /** S bit: first packet of a VP8 partition. */
  readonly start: boolean;
  /** Partition index (PID). */
  readonly partition: number;
  /** 7- or 15-bit picture id when present. */
  readonly pictureId?: number;
  /** Bytes of descriptor before the VP8 payload. */
  readonly headerBytes: number;
}

/** Parses the RFC 7741 §4.2 payload descriptor; throws DepacketizeError when truncated. */
export function parseVp8Descriptor(p: Uint8Array): Vp8Descriptor {
  if (p.length < 1) throw new DepacketizeError('empty VP8 payload');
  const b0 = p[0]!;
  let i = 1;
  let pictureId: number | undefined;
  if (b0 & 0x80) {
    if (p.length < 2) throw new DepacketizeError('VP8 descriptor truncated (X)');
    const x = p[1]!;
    i = 2;
    if (x & 0x80) {
      if (p.length <= i) throw new DepacketizeError('VP8 descriptor truncated (I)');
      if (p[i]! & 0x80) {
        if (p.length <= i + 1) throw new DepacketizeError('VP8 descriptor truncated (M)');
        pictureId = ((p[i]! & 0x7f) << 8) | p[i + 1]!;
        i += 2;
      } else {
        pictureId = p[i]! & 0x7f;
        i += 1;
      }
    }
    if (x & 0x40) i += 1; // L: TL0PICIDX
    if (x & 0x30) i += 1; // T or K: TID/Y/KEYIDX
  }
  if (i > p.length) throw new DepacketizeError('VP8 descriptor longer than the payload');
  return { start: (b0 & 0x10) !== 0, partition: b0 & 0x07, headerBytes: i, ...(pictureId !== undefined ? { pictureId } : {}) };
}

export interface DepacketizedFrame {
  readonly data: Buffer;
  readonly keyframe: boolean;
  readonly width?: number;
  readonly height?: number;
}

/**
 * One VP8 frame from its packets' payloads (in sequence order, none missing).
 * Throws DepacketizeError when the frame does not begin at partition 0 or is malformed.
 */
export function depacketizeVp8(payloads: readonly Uint8Array[]): DepacketizedFrame {
  if (payloads.length === 0) throw new DepacketizeError('no packets');
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let k = 0; k < payloads.length; k++) {
    const d = parseVp8Descriptor(payloads[k]!);
    if (k === 0 && !(d.start && d.partition === 0)) throw new DepacketizeError('frame does not start with the first packet of partition 0 (its head was lost)');
    const body = payloads[k]!.subarray(d.headerBytes);
    parts.push(body);
    total += body.length;
  }
  const data = Buffer.concat(parts, total);
  if (data.length < 3) throw new DepacketizeError(`VP8 frame of ${data.length} bytes is too short for a frame tag`);
  // Frame tag (RFC 6386 §9.1): bit 0 of the first byte is 0 for a keyframe.
  const keyframe = (data[0]! & 0x01) === 0;
  if (!keyframe) return { data, keyframe };
  if (data.length < 10) throw new DepacketizeError('VP8 keyframe too short for its header');
  if (data[3] !== 0x9d || data[4] !== 0x01 || data[5] !== 0x2a) throw new DepacketizeError('VP8 keyframe without the 9d 01 2a start code');
  const width = (data[6]! | (data[7]! << 8)) & 0x3fff;
  const height = (data[8]! | (data[9]! << 8)) & 0x3fff;
  if (width === 0 || height === 0) throw new DepacketizeError(`VP8 keyframe declares ${width}×${height}`);
  return { data, keyframe, width, height };
}
