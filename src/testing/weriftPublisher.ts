/**
 * A real WebRTC publisher written with werift, for integration tests and benchmarks:
 * sends VP8 or H.264 RTP encoded live from a clip (so PLI gets a real keyframe), decodes
 * every mask and acknowledges it with its end-to-end latency (send of the frame → mask
 * received, on this process's clock).
 *
 * Signaling `ws` (default): the server's WebSocket; masks on the `masks` data channel.
 * Signaling `whip`: POST the offer to /whip (candidates trickled with PATCH when `trickle`),
 * masks from a subscriber socket on /sessions/{id}/masks; close() DELETEs the session.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import {
  MediaStreamTrack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  type RTCDataChannel,
  type RTCRtpTransceiver,
  useNACK,
  usePLI,
  useREMB,
} from 'werift';
import { packetizeH264, packetizeVp8, RtpSequencer } from '../ingest/rtpPacketizer.js';
import { ClipEncoder, type EncodedChunk } from './encoder.js';
import { FfmpegVp8Encoder } from './ffmpegEncoder.js';
import type { I420Picture } from '../decode/types.js';
import { decodeMask, type MaskMessage } from '../shared/maskCodec.js';
import { MASKS_CHANNEL_LABEL, type ServerMessage } from '../shared/protocol.js';
import { openWsOffer, withTimeout } from './wsOffer.js';

export interface PublisherOptions {
  /** Server base URL, http://host:port. */
  readonly url: string;
  readonly codec: 'vp8' | 'h264';
  readonly frames: readonly I420Picture[];
  readonly fps: number;
  /** Encoder bitrate, bit/s. */
  readonly bitrate?: number;
  /** Stop after this many frames have been sent (default: one pass over `frames`). */
  readonly totalFrames?: number;
  /** How to signal (default ws). */
  readonly signaling?: 'ws' | 'whip';
  /** WHIP: bearer token for the WHIP requests and the mask subscription. */
  readonly token?: string;
  /** WHIP: offer without candidates, then PATCH them as an sdpfrag (default false: all in the offer). */
  readonly trickle?: boolean;
  /** Also offer a (silent) Opus audio track first, as OBS and most WHIP publishers do. */
  readonly withAudio?: boolean;
  /** Keep every received mask (with its alpha) in `masks` (default true; long benchmarks say false). */
  readonly keepMasks?: boolean;
  /** Called for every received mask (after it is matched to its frame). */
  readonly onMask?: (m: ReceivedMask) => void;
  /** How many recently sent frames a mask can still be matched to, frames (default 300 = 10 s at 30 fps). */
  readonly matchWindowFrames?: number;
  /**
   * `webcodecs` (default): ClipEncoder, in process. `ffmpeg`: VP8 only, a system ffmpeg child
   * with libvpx's realtime deadline, as cheap per frame as a browser's encoder (FfmpegVp8Encoder).
   */
  readonly encoder?: 'webcodecs' | 'ffmpeg';
}

/** What the WHIP endpoint answered. */
export interface WhipExchange {
  readonly location: string;
  readonly etag: string | null;
  readonly links: string[];
  /** Status of each PATCH sent (trickle). */
  readonly patchStatuses: number[];
  /** Status of the DELETE sent by close(), once sent. */
  deleteStatus?: number;
}

export interface ReceivedMask {
  readonly msg: MaskMessage;
  /** Index of the sent frame this mask belongs to (matched by RTP timestamp), or -1. */
  readonly frameIndex: number;
  /** Send of the frame → mask received, ms. */
  readonly e2eMs: number;
}

export class WeriftPublisher {
  readonly masks: ReceivedMask[] = [];
  readonly errors: string[] = [];
  answer: Extract<ServerMessage, { type: 'answer' }> | undefined;
  /** The server's session id (from the WS answer or the WHIP Location). */
  sessionId: string | undefined;
  whip: WhipExchange | undefined;
  /** The reason of the server's bye (WS signaling), once it said bye. */
  byeReason: string | undefined;
  /** Close code and reason of the WHIP mask subscriber socket, once closed. */
  subscriberClose: { code: number; reason: string } | undefined;
  framesSent = 0;
  /** Masks received (also when keepMasks is false). */
  masksReceived = 0;
  keyframeRequests = 0;
  private pc!: RTCPeerConnection;
  private ws!: WebSocket;
  private dc: RTCDataChannel | undefined;
  private masksWs: WebSocket | undefined;
  private transceiver!: RTCRtpTransceiver;
  private readonly track = new MediaStreamTrack({ kind: 'video' });
  private readonly encoder: { encode(pic: I420Picture, opts: { keyFrame?: boolean }): Promise<EncodedChunk[]>; close(): void };
  private readonly sequencer: RtpSequencer;
  /** rtpTimestamp → {index, sentMs} of recently sent frames (bounded). */
  private readonly sent = new Map<number, { index: number; sentMs: number }>();
  private forceKeyframe = true;
  private closed = false;

  constructor(private readonly opts: PublisherOptions) {
    const first = opts.frames[0];
    if (!first) throw new Error('publisher needs at least one frame');
    const encoding = { width: first.width, height: first.height, bitrate: opts.bitrate ?? 800_000, fps: opts.fps };
    if (opts.encoder === 'ffmpeg' && opts.codec !== 'vp8') throw new Error('the ffmpeg encoder of the test publisher does VP8 only');
    this.encoder = opts.encoder === 'ffmpeg' ? new FfmpegVp8Encoder(encoding) : new ClipEncoder({ codec: opts.codec, ...encoding });
    this.sequencer = new RtpSequencer({ payloadType: opts.codec === 'vp8' ? 96 : 102, ssrc: (Math.random() * 0xffffffff) >>> 0 });
  }

  /** Connect: offer → answer → ICE/DTLS connected → data channel open. */
  async connect(timeoutMs = 15_000): Promise<void> {
    const codec = this.opts.codec === 'vp8'
      ? new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, rtcpFeedback: [useNACK(), usePLI(), useREMB()] })
      : new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, rtcpFeedback: [useNACK(), usePLI(), useREMB()], parameters: 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1' });
    // max-bundle: with werift's default policy the offerer gathers one ICE transport per
    // m-line and never closes the one BUNDLE makes redundant (2 UDP sockets leaked per peer).
    const opus = new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 });
    this.pc = new RTCPeerConnection({ codecs: { video: [codec], audio: this.opts.withAudio ? [opus] : [] }, iceServers: [], bundlePolicy: 'max-bundle' });
    if (this.opts.withAudio) this.pc.addTransceiver(new MediaStreamTrack({ kind: 'audio' }), { direction: 'sendonly' });
    this.transceiver = this.pc.addTransceiver(this.track, { direction: 'sendonly' });
    this.transceiver.sender.onRtcp.subscribe((rtcp) => {
      // PLI/FIR arrive as payload-specific feedback; any of them means "send a keyframe".
      if (rtcp.type === 206) {
        this.keyframeRequests++;
        this.forceKeyframe = true;
      }
    });
    if (this.opts.signaling === 'whip') return this.connectWhip(timeoutMs);
    const dc = this.pc.createDataChannel(MASKS_CHANNEL_LABEL, { ordered: false, maxRetransmits: 0 });
    this.dc = dc;
    dc.onMessage.subscribe((data) => this.onMask(data));
    const dcOpen = new Promise<void>((resolve) => dc.stateChanged.subscribe((s) => s === 'open' && resolve()));

    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    const signaling = openWsOffer({ url: this.opts.url, sdp: this.pc.localDescription!.sdp, timeoutMs }, {
      answer: (m) => {
        this.answer = m;
        this.sessionId = m.sessionId;
        return this.pc.setRemoteDescription({ type: 'answer', sdp: m.sdp });
      },
      bye: (reason) => (this.byeReason = reason),
      serverError: (text) => this.errors.push(text),
      badMessage: (text) => this.errors.push(text),
    });
    this.ws = signaling.ws;
    await signaling.answered;
    await withTimeout(dcOpen, timeoutMs, 'data channel open');
  }

  /** WHIP: POST the offer, apply the answer, trickle (optionally), subscribe to masks, wait for ICE. */
  private async connectWhip(timeoutMs: number): Promise<void> {
    const auth: Record<string, string> = this.opts.token ? { Authorization: `Bearer ${this.opts.token}` } : {};
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    const full = this.pc.localDescription!.sdp;
    const trickle = this.opts.trickle ?? false;
    const body = trickle ? full.split(/\r\n/).filter((l) => !/^a=(candidate|end-of-candidates)/.test(l)).join('\r\n') : full;
    const res = await fetch(this.opts.url + '/whip', { method: 'POST', headers: { 'Content-Type': 'application/sdp', ...auth }, body });
    if (res.status !== 201) throw new Error(`WHIP POST answered ${res.status}: ${(await res.text()).trim()}`);
    const location = res.headers.get('location');
    if (!location) throw new Error('WHIP 201 without Location');
    const resourceUrl = new URL(location, this.opts.url + '/whip').toString();
    const links = res.headers.get('link')?.split(/,\s*(?=<)/) ?? [];
    this.whip = { location: resourceUrl, etag: res.headers.get('etag'), links, patchStatuses: [] };
    this.sessionId = resourceUrl.split('/').pop();
    await this.pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    const connected = new Promise<void>((resolve) => {
      if (this.pc.connectionState === 'connected') resolve();
      this.pc.connectionStateChange.subscribe((st) => st === 'connected' && resolve());
    });
    if (trickle) {
      const lines = full.split(/\r\n/);
      const ufrag = lines.find((l) => l.startsWith('a=ice-ufrag:'));
      const pwd = lines.find((l) => l.startsWith('a=ice-pwd:'));
      const mid = lines.find((l) => l.startsWith('a=mid:')) ?? 'a=mid:0';
      const cands = lines.filter((l) => l.startsWith('a=candidate:'));
      const frag = [ufrag, pwd, 'm=video 9 UDP/TLS/RTP/SAVPF 0', mid, ...cands, 'a=end-of-candidates', ''].join('\r\n');
      const p = await fetch(resourceUrl, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', ...(this.whip.etag ? { 'If-Match': this.whip.etag } : {}), ...auth },
        body: frag,
      });
      this.whip.patchStatuses.push(p.status);
    }
    const masksUrl = `${this.opts.url.replace(/^http/, 'ws')}/sessions/${this.sessionId}/masks`;
    const ws = new WebSocket(masksUrl, { headers: auth });
    this.masksWs = ws;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.onMask(data);
    });
    ws.on('close', (code, reason) => (this.subscriberClose = { code, reason: reason.toString() }));
    await withTimeout(new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    }), timeoutMs, 'mask subscription');
    await withTimeout(connected, timeoutMs, 'ICE/DTLS connected');
  }

  /** Send frames at the configured rate until `totalFrames` are sent; resolves then. */
  async run(): Promise<void> {
    const total = this.opts.totalFrames ?? this.opts.frames.length;
    const periodMs = 1000 / this.opts.fps;
    const start = performance.now();
    for (let i = 0; i < total && !this.closed; i++) {
      const due = start + i * periodMs;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (this.closed) break;
      try {
        await this.sendFrame(i);
      } catch (e) {
        // close() during an encode rejects it with "encoder closed": the run is over, not failed.
        if (this.closed) break;
        throw e;
      }
    }
  }

  private async sendFrame(i: number): Promise<void> {
    const pic = this.opts.frames[i % this.opts.frames.length]!;
    const keyFrame = this.forceKeyframe;
    this.forceKeyframe = false;
    const chunks = await this.encoder.encode(pic, { keyFrame });
    const rtpTimestamp = (i * Math.round(90000 / this.opts.fps)) >>> 0;
    for (const chunk of chunks) {
      const payloads = this.opts.codec === 'vp8' ? packetizeVp8(chunk.data, { pictureId: i & 0x7fff }) : packetizeH264(chunk.data, {});
      const sentMs = performance.now();
      this.sent.set(rtpTimestamp, { index: i, sentMs });
      if (this.sent.size > (this.opts.matchWindowFrames ?? 300)) this.sent.delete(this.sent.keys().next().value!);
      for (const p of this.sequencer.packets(payloads, rtpTimestamp)) this.track.writeRtp(p);
      this.framesSent++;
    }
  }

  private onMask(data: string | Buffer): void {
    if (typeof data === 'string') return;
    const now = performance.now();
    let msg: MaskMessage;
    try {
      msg = decodeMask(data);
    } catch (e) {
      this.errors.push(`bad mask message: ${(e as Error).message}`);
      return;
    }
    const s = this.sent.get(msg.rtpTimestamp);
    const e2eMs = s ? now - s.sentMs : -1;
    const received: ReceivedMask = { msg, frameIndex: s ? s.index : -1, e2eMs };
    if (this.opts.keepMasks !== false) this.masks.push(received);
    this.masksReceived++;
    this.opts.onMask?.(received);
    const ack = JSON.stringify({ type: 'ack', seq: msg.seq, ...(e2eMs >= 0 ? { e2eMs } : {}) });
    if (this.dc?.readyState === 'open') this.dc.send(ack);
    else if (this.masksWs?.readyState === WebSocket.OPEN) this.masksWs.send(ack);
  }

  /** Say bye and close everything (idempotent). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'bye' }));
    this.ws?.close();
    if (this.whip && this.whip.deleteStatus === undefined) {
      const auth: Record<string, string> = this.opts.token ? { Authorization: `Bearer ${this.opts.token}` } : {};
      try {
        this.whip.deleteStatus = (await fetch(this.whip.location, { method: 'DELETE', headers: auth })).status;
      } catch (e) {
        this.errors.push(`WHIP DELETE failed: ${(e as Error).message}`);
      }
    }
    this.masksWs?.close();
    this.encoder.close();
    await this.pc?.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

