/**
 * The sending side of the depacketizers: VP8 (RFC 7741) and H.264 (RFC 6184, mode 1)
 * packetization and RTP header sequencing. Used by the werift test publisher and the load
 * benchmark (a real sender needs it), and by the ingest unit tests to craft streams. Pure.
 */
import { RtpHeader, RtpPacket } from 'werift';

/** Payload bytes per packet; 1200 keeps packets under a typical 1280-byte path MTU with headers. */
export const DEFAULT_MAX_PAYLOAD = 1200;

/** VP8 payloads of one frame, each with a descriptor carrying a 15-bit picture id. */
export function packetizeVp8(frame: Uint8Array, opts: { pictureId: number; maxPayload?: number }): Buffer[] {
  const max = (opts.maxPayload ?? DEFAULT_MAX_PAYLOAD) - 4;
  if (max < 1) throw new RangeError('maxPayload too small for the VP8 descriptor');
  const out: Buffer[] = [];
  const pid = opts.pictureId & 0x7fff;
  for (let off = 0; off < frame.length || out.length === 0; off += max) {
    const chunk = frame.subarray(off, Math.min(frame.length, off + max));
    const p = Buffer.allocUnsafe(4 + chunk.length);
    p[0] = 0x80 | (off === 0 ? 0x10 : 0); // X, S on the first packet, PID 0
    p[1] = 0x80; // I: picture id present
    p[2] = 0x80 | (pid >> 8); // M: 15-bit picture id
    p[3] = pid & 0xff;
    p.set(chunk, 4);
    out.push(p);
  }
  return out;
}

/** NAL units of an Annex-B byte stream (3- or 4-byte start codes), without start codes. */
export function splitAnnexB(data: Uint8Array): Uint8Array[] {
  const nals: Uint8Array[] = [];
  let start = -1;
  let i = 0;
  while (i + 2 < data.length) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      if (start >= 0) {
        let end = i;
        while (end > start && data[end - 1] === 0) end--; // trailing zero of a 4-byte start code
        if (end > start) nals.push(data.subarray(start, end));
      }
      i += 3;
      start = i;
    } else {
      i++;
    }
  }
  if (start >= 0 && start < data.length) nals.push(data.subarray(start));
  return nals;
}

/** H.264 payloads of one access unit: small NAL units as is, large ones as FU-A fragments. */
export function packetizeH264(annexB: Uint8Array, opts: { maxPayload?: number } = {}): Buffer[] {
  const max = opts.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  const out: Buffer[] = [];
  for (const nal of splitAnnexB(annexB)) {
    const type = nal[0]! & 0x1f;
    if (type === 9) continue; // access unit delimiter: not sent over RTP
    if (nal.length <= max) {
      out.push(Buffer.from(nal));
      continue;
    }
    const indicator = (nal[0]! & 0xe0) | 28;
    const body = nal.subarray(1);
    const step = max - 2;
    for (let off = 0; off < body.length; off += step) {
      const chunk = body.subarray(off, Math.min(body.length, off + step));
      const p = Buffer.allocUnsafe(2 + chunk.length);
      p[0] = indicator;
      p[1] = (off === 0 ? 0x80 : 0) | (off + step >= body.length ? 0x40 : 0) | type;
      p.set(chunk, 2);
      out.push(p);
    }
  }
  return out;
}

/** RTP headers for a stream: consecutive sequence numbers, marker on a frame's last packet. */
export class RtpSequencer {
  private seq: number;

  constructor(private readonly opts: { payloadType: number; ssrc: number; firstSeq?: number }) {
    this.seq = (opts.firstSeq ?? Math.floor(Math.random() * 0x10000)) & 0xffff;
  }

  packets(payloads: readonly Buffer[], timestamp: number): RtpPacket[] {
    return payloads.map((payload, i) => {
      const header = new RtpHeader({
        payloadType: this.opts.payloadType,
        ssrc: this.opts.ssrc,
        sequenceNumber: this.seq,
        timestamp: timestamp >>> 0,
        marker: i === payloads.length - 1,
      });
      this.seq = (this.seq + 1) & 0xffff;
      return new RtpPacket(header, payload);
    });
  }
}
