/**
 * H.264 RTP depacketization (RFC 6184, packetization-mode=1: single NAL unit, STAP-A, FU-A)
 * into an Annex-B access unit, plus the few SPS fields needed to know the picture size
 * before decoding (so absurd sizes are refused without touching the decoder). Pure.
 */
import { DepacketizeError, type DepacketizedFrame } from './vp8Depacketizer.js';

const START_CODE = Buffer.from([0, 0, 0, 1]);
const NAL_IDR = 5;
const NAL_SPS = 7;
const STAP_A = 24;
const FU_A = 28;

/** NAL units of one access unit from its packets' payloads (in order, none missing). */
export function h264NalUnits(payloads: readonly Uint8Array[]): Uint8Array[] {
  const nals: Uint8Array[] = [];
  let fu: Uint8Array[] | undefined;
  for (const p of payloads) {
    if (p.length < 1) throw new DepacketizeError('empty H.264 payload');
    const type = p[0]! & 0x1f;
    if (p[0]! & 0x80) throw new DepacketizeError('H.264 NAL header has the forbidden_zero_bit set');
    if (type === FU_A) {
      if (p.length < 3) throw new DepacketizeError('FU-A packet too short');
      const h = p[1]!;
      const start = (h & 0x80) !== 0;
      const end = (h & 0x40) !== 0;
      if (start) {
        if (fu) throw new DepacketizeError('FU-A start before the previous fragmented NAL ended');
        fu = [Uint8Array.of((p[0]! & 0xe0) | (h & 0x1f))];
      } else if (!fu) {
        throw new DepacketizeError('FU-A continuation without its start (head lost)');
      }
      fu.push(p.subarray(2));
      if (end) {
        nals.push(Buffer.concat(fu));
        fu = undefined;
      }
      continue;
    }
    if (fu) throw new DepacketizeError('fragmented NAL unit not terminated (FU-A end lost)');
    if (type >= 1 && type <= 23) {
      nals.push(p);
    } else if (type === STAP_A) {
      let i = 1;
      while (i < p.length) {
        if (i + 2 > p.length) throw new DepacketizeError('STAP-A size field truncated');
        const size = (p[i]! << 8) | p[i + 1]!;
        i += 2;
        if (size === 0 || i + size > p.length) throw new DepacketizeError(`STAP-A unit of ${size} bytes overruns the packet`);
        nals.push(p.subarray(i, i + size));
        i += size;
      }
    } else {
      throw new DepacketizeError(`unsupported H.264 packet type ${type} (packetization-mode=1 allows 1-23, STAP-A, FU-A)`);
    }
  }
  if (fu) throw new DepacketizeError('fragmented NAL unit not terminated at the end of the frame');
  return nals;
}

/** One H.264 access unit (Annex-B) from its packets' payloads. Keyframe = contains an IDR slice. */
export function depacketizeH264(payloads: readonly Uint8Array[]): DepacketizedFrame {
  const nals = h264NalUnits(payloads);
  if (nals.length === 0) throw new DepacketizeError('no NAL units');
  let keyframe = false;
  let size: { width: number; height: number } | undefined;
  const parts: Uint8Array[] = [];
  for (const n of nals) {
    const type = n[0]! & 0x1f;
    if (type === NAL_IDR) keyframe = true;
    if (type === NAL_SPS && !size) size = parseSpsSize(n);
    parts.push(START_CODE, n);
  }
  return { data: Buffer.concat(parts), keyframe, ...(size ?? {}) };
}

/** Exp-Golomb bit reader over an RBSP (emulation prevention bytes removed). */
class BitReader {
  private bit = 0;
  constructor(private readonly b: Uint8Array) {}
  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.bit >> 3;
      if (byte >= this.b.length) throw new DepacketizeError('SPS truncated');
      v = v * 2 + ((this.b[byte]! >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return v;
  }
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) if (++zeros > 31) throw new DepacketizeError('SPS Exp-Golomb code too long');
    return 2 ** zeros - 1 + this.u(zeros);
  }
  se(): number {
    const k = this.ue();
    return k & 1 ? (k + 1) / 2 : -k / 2;
  }
}

function rbsp(nal: Uint8Array): Uint8Array {
  const out = new Uint8Array(nal.length);
  let o = 0;
  let zeros = 0;
  for (let i = 1; i < nal.length; i++) {
    const v = nal[i]!;
    if (zeros >= 2 && v === 3) {
      zeros = 0;
      continue;
    }
    zeros = v === 0 ? zeros + 1 : 0;
    out[o++] = v;
  }
  return out.subarray(0, o);
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Picture size from a sequence parameter set NAL (ITU-T H.264 §7.3.2.1.1), cropping applied. */
export function parseSpsSize(nal: Uint8Array): { width: number; height: number } {
  const r = new BitReader(rbsp(nal));
  const profile = r.u(8);
  r.u(16); // constraint flags, level
  r.ue(); // seq_parameter_set_id
  let chroma = 1;
  if (HIGH_PROFILES.has(profile)) {
    chroma = r.ue();
    if (chroma === 3) r.u(1);
    r.ue(); // bit_depth_luma_minus8
    r.ue(); // bit_depth_chroma_minus8
    r.u(1);
    if (r.u(1)) {
      for (let i = 0; i < (chroma !== 3 ? 8 : 12); i++) {
        if (!r.u(1)) continue;
        let last = 8;
        let next = 8;
        for (let j = 0; j < (i < 6 ? 16 : 64); j++) {
          if (next !== 0) next = (last + r.se() + 256) % 256;
          last = next === 0 ? last : next;
        }
      }
    }
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) r.ue();
  else if (pocType === 1) {
    r.u(1);
    r.se();
    r.se();
    const n = r.ue();
    if (n > 255) throw new DepacketizeError('SPS num_ref_frames_in_pic_order_cnt_cycle out of range');
    for (let i = 0; i < n; i++) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.u(1);
  const wMbs = r.ue() + 1;
  const hUnits = r.ue() + 1;
  const frameMbsOnly = r.u(1);
  if (!frameMbsOnly) r.u(1);
  r.u(1); // direct_8x8_inference_flag
  let crop = [0, 0, 0, 0];
  if (r.u(1)) crop = [r.ue(), r.ue(), r.ue(), r.ue()];
  const subW = chroma === 1 || chroma === 2 ? 2 : 1;
  const subH = chroma === 1 ? 2 : 1;
  const cropX = chroma === 0 ? 1 : subW;
  const cropY = (chroma === 0 ? 1 : subH) * (2 - frameMbsOnly);
  const width = wMbs * 16 - cropX * (crop[0]! + crop[1]!);
  const height = (2 - frameMbsOnly) * hUnits * 16 - cropY * (crop[2]! + crop[3]!);
  if (width <= 0 || height <= 0) throw new DepacketizeError(`SPS declares ${width}×${height}`);
  return { width, height };
}
