/**
 * A werift WebRTC publisher for fault tests (WebSocket signaling): sends a clip encoded live
 * (VP8 or H.264) like src/testing/weriftPublisher.ts, with hooks to misbehave on purpose —
 * rewrite the SDP (to route ICE through LossyUdpProxy), mangle or drop a frame's RTP packets,
 * jump the RTP timestamp, change the picture size, pause, change SSRC, ignore keyframe
 * requests, drop the signaling socket, or vanish (UDP sockets closed, no bye, no DTLS close).
 *
 * Keeps counters and per-frame times, not the masks themselves (a long run would hold
 * gigabytes of alpha): for each sent frame index, when it was sent and when its mask came.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import {
  MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, type RTCDataChannel, type RTCRtpTransceiver, RtpPacket, useNACK, usePLI, useREMB,
} from 'werift';
import { packetizeH264, packetizeVp8, RtpSequencer } from '../ingest/rtpPacketizer.js';
import { ClipEncoder } from '../testing/encoder.js';
import type { I420Picture } from '../decode/types.js';
import { decodeMask } from '../shared/maskCodec.js';
import { MASKS_CHANNEL_LABEL, type ServerMessage } from '../shared/protocol.js';
import { openWsOffer, withTimeout } from '../testing/wsOffer.js';

export interface FaultPublisherOptions {
  /** Server base URL, http://host:port. */
  readonly url: string;
  readonly codec: 'vp8' | 'h264';
  readonly frames: readonly I420Picture[];
  readonly fps: number;
  /** Encoder bitrate, bit/s. */
  readonly bitrate?: number;
  /** Bearer token, sent in the offer. */
  readonly token?: string;
  /** Headers of the signaling WebSocket upgrade (e.g. Origin). */
  readonly headers?: Record<string, string>;
  /** CA certificate(s) to trust for a wss:// URL (a test's self-signed TLS terminator). */
  readonly ca?: string | Buffer;
  /** Rewrites the offer before it is sent, and the answer before it is applied (ICE through a relay). */
  readonly rewriteOffer?: (sdp: string) => string;
  readonly rewriteAnswer?: (sdp: string) => string;
  /** First RTP timestamp (e.g. just below 2^32 to cross the wrap), 90 kHz. */
  readonly firstTimestamp?: number;
}

/**
 * What a frame hook may do with a frame's RTP packets (already numbered). `requested`: the
 * frame was encoded as a keyframe on request (PLI or requestKeyframe()), not by the encoder's
 * own schedule.
 */
export type PacketHook = (packets: RtpPacket[], frame: { index: number; keyframe: boolean; requested: boolean; rtpTimestamp: number }) => RtpPacket[];

export class FaultPublisher {
  readonly errors: string[] = [];
  answer: Extract<ServerMessage, { type: 'answer' }> | undefined;
  byeReason: string | undefined;
  /** Server error messages received (code: message). */
  readonly serverErrors: string[] = [];
  framesSent = 0;
  masksReceived = 0;
  keyframeRequests = 0;
  /** Index of every keyframe sent. */
  readonly keyframesSent: number[] = [];
  /** Frame index → performance.now() when sent / when its mask arrived. */
  readonly sentAt = new Map<number, number>();
  readonly maskAt = new Map<number, number>();
  /** End-to-end latencies (frame sent → mask received), ms. */
  readonly e2eMs: number[] = [];
  /** Packet hook for the next frames (undefined = send as encoded). */
  packetHook: PacketHook | undefined;
  /** PLIs still to be ignored (a sender that does not answer keyframe requests at once). */
  ignorePlis = 0;
  /** While true, frames are encoded and counted but not sent (a stream that stops). */
  paused = false;
  /**
   * While true, keyframes the encoder makes on its own schedule (the test encoder makes one
   * every 10 frames; browsers only on request) are not sent, so recovery must come from a
   * keyframe request. Cleared by the first requested keyframe sent.
   */
  holdKeyframesUntilRequested = false;
  /** Keyframes held back by holdKeyframesUntilRequested. */
  keyframesHeld = 0;
  private pc!: RTCPeerConnection;
  private ws!: WebSocket;
  private dc: RTCDataChannel | undefined;
  private transceiver!: RTCRtpTransceiver;
  private readonly track = new MediaStreamTrack({ kind: 'video' });
  private encoder: ClipEncoder;
  private frames: readonly I420Picture[];
  private readonly sequencer: RtpSequencer;
  private readonly byTimestamp = new Map<number, number>();
  private timestamp: number;
  private forceKeyframe = true;
  private closed = false;

  constructor(private readonly opts: FaultPublisherOptions) {
    this.frames = opts.frames;
    this.encoder = this.makeEncoder(opts.frames);
    this.timestamp = (opts.firstTimestamp ?? 0) >>> 0;
    this.sequencer = new RtpSequencer({ payloadType: opts.codec === 'vp8' ? 96 : 102, ssrc: 1 });
  }

  get sessionId(): string | undefined {
    return this.answer?.sessionId;
  }

  /** Offer → answer → ICE/DTLS → data channel open. */
  async connect(timeoutMs = 15_000): Promise<void> {
    const fb = [useNACK(), usePLI(), useREMB()];
    const codec = this.opts.codec === 'vp8'
      ? new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, rtcpFeedback: fb })
      : new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, rtcpFeedback: fb, parameters: 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1' });
    this.pc = new RTCPeerConnection({ codecs: { video: [codec], audio: [] }, iceServers: [], bundlePolicy: 'max-bundle', iceUseIpv6: false });
    this.transceiver = this.pc.addTransceiver(this.track, { direction: 'sendonly' });
    this.transceiver.sender.onRtcp.subscribe((rtcp) => {
      if (rtcp.type !== 206) return; // PLI/FIR: payload-specific feedback
      this.keyframeRequests++;
      if (this.ignorePlis > 0) this.ignorePlis--;
      else this.forceKeyframe = true;
    });
    const dc = this.pc.createDataChannel(MASKS_CHANNEL_LABEL, { ordered: false, maxRetransmits: 0 });
    this.dc = dc;
    dc.onMessage.subscribe((data) => this.onMask(data));
    const dcOpen = new Promise<void>((resolve) => dc.stateChanged.subscribe((s) => s === 'open' && resolve()));
    await this.pc.setLocalDescription(await this.pc.createOffer());
    const offer = this.opts.rewriteOffer ? this.opts.rewriteOffer(this.pc.localDescription!.sdp) : this.pc.localDescription!.sdp;
    const signaling = openWsOffer({ url: this.opts.url, sdp: offer, timeoutMs, ...(this.opts.token ? { token: this.opts.token } : {}), ...(this.opts.headers ? { headers: this.opts.headers } : {}), ...(this.opts.ca ? { ca: this.opts.ca } : {}) }, {
      answer: (m) => {
        this.answer = m;
        return this.pc.setRemoteDescription({ type: 'answer', sdp: this.opts.rewriteAnswer ? this.opts.rewriteAnswer(m.sdp) : m.sdp });
      },
      bye: (reason) => (this.byeReason = reason),
      serverError: (text) => this.serverErrors.push(text),
      badMessage: (text) => this.errors.push(text),
    });
    this.ws = signaling.ws;
    await signaling.answered;
    await withTimeout(dcOpen, timeoutMs, 'data channel open');
  }

  /** Sends `count` frames at the configured rate (frame indices continue across calls). */
  async run(count: number): Promise<void> {
    const periodMs = 1000 / this.opts.fps;
    const start = performance.now();
    for (let i = 0; i < count && !this.closed; i++) {
      const wait = start + i * periodMs - performance.now();
      if (wait > 0) await sleep(wait);
      await this.sendFrame();
    }
  }

  /** The next frame will be a keyframe. */
  requestKeyframe(): void {
    this.forceKeyframe = true;
  }

  /** Adds `ticks` (90 kHz) to the RTP timestamp of the following frames (a jump). */
  jumpTimestamp(ticks: number): void {
    this.timestamp = (this.timestamp + ticks) >>> 0;
  }

  /** Continues with other pictures (another size: a new encoder, starting with a keyframe). */
  switchFrames(frames: readonly I420Picture[]): void {
    this.encoder.close();
    this.frames = frames;
    this.encoder = this.makeEncoder(frames);
    this.forceKeyframe = true;
  }

  /** Sends from a new SSRC from now on (an encoder restart without renegotiation). */
  changeSsrc(ssrc: number): void {
    (this.transceiver.sender as { ssrc: number }).ssrc = ssrc >>> 0;
    this.forceKeyframe = true;
  }

  /** Closes the signaling socket abruptly (no bye, no close frame). */
  dropSignaling(): void {
    (this.ws as unknown as { _socket?: { destroy(): void } })._socket?.destroy();
  }

  /**
   * The peer vanishes: its UDP sockets close at once, without bye or DTLS close_notify; the
   * signaling socket stays open and silent (a frozen tab), so only the server's timeouts can
   * notice.
   */
  async vanish(): Promise<void> {
    this.closed = true;
    for (const t of this.pc.iceTransports) {
      for (const p of (t.connection as unknown as { protocols: { transport?: { close(): Promise<void> } }[] }).protocols) await p.transport?.close();
    }
  }

  /** Bye and close everything (idempotent); after vanish() it releases what is left. */
  async close(): Promise<void> {
    const wasClosed = this.closed;
    this.closed = true;
    if (!wasClosed && this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'bye' }));
    this.ws?.close();
    this.encoder.close();
    await this.pc?.close();
  }

  private makeEncoder(frames: readonly I420Picture[]): ClipEncoder {
    const first = frames[0];
    if (!first) throw new Error('publisher needs at least one frame');
    return new ClipEncoder({ codec: this.opts.codec, width: first.width, height: first.height, bitrate: this.opts.bitrate ?? 800_000, fps: this.opts.fps });
  }

  private async sendFrame(): Promise<void> {
    const index = this.framesSent++;
    const pic = this.frames[index % this.frames.length]!;
    const keyFrame = this.forceKeyframe;
    this.forceKeyframe = false;
    let chunks;
    try {
      chunks = await this.encoder.encode(pic, { keyFrame });
    } catch (e) {
      if (this.closed) return; // closed while this frame was being encoded
      throw e;
    }
    const rtpTimestamp = this.timestamp;
    this.timestamp = (this.timestamp + Math.round(90000 / this.opts.fps)) >>> 0;
    if (this.paused || this.closed) return;
    for (const chunk of chunks) {
      if (chunk.keyframe && this.holdKeyframesUntilRequested) {
        if (!keyFrame) {
          // Not sent at all (no sequence numbers used): to the server it is a frame that never existed.
          this.keyframesHeld++;
          continue;
        }
        this.holdKeyframesUntilRequested = false;
      }
      const payloads = this.opts.codec === 'vp8' ? packetizeVp8(chunk.data, { pictureId: index & 0x7fff }) : packetizeH264(chunk.data, {});
      let packets = this.sequencer.packets(payloads, rtpTimestamp);
      if (chunk.keyframe) this.keyframesSent.push(index);
      if (this.packetHook) packets = this.packetHook(packets, { index, keyframe: chunk.keyframe, requested: keyFrame, rtpTimestamp });
      this.sentAt.set(index, performance.now());
      this.byTimestamp.set(rtpTimestamp, index);
      if (this.byTimestamp.size > 600) this.byTimestamp.delete(this.byTimestamp.keys().next().value!);
      for (const p of packets) this.track.writeRtp(p);
    }
  }

  private onMask(data: string | Buffer): void {
    if (typeof data === 'string') return;
    const now = performance.now();
    let seq: number;
    let rtpTimestamp: number;
    try {
      const m = decodeMask(data);
      seq = m.seq;
      rtpTimestamp = m.rtpTimestamp;
    } catch (e) {
      this.errors.push(`bad mask message: ${(e as Error).message}`);
      return;
    }
    this.masksReceived++;
    const index = this.byTimestamp.get(rtpTimestamp);
    let e2e = -1;
    if (index !== undefined) {
      this.maskAt.set(index, now);
      e2e = now - this.sentAt.get(index)!;
      this.e2eMs.push(e2e);
    }
    if (this.dc?.readyState === 'open') this.dc.send(JSON.stringify({ type: 'ack', seq, ...(e2e >= 0 ? { e2eMs: e2e } : {}) }));
  }
}

/** A corrupt copy of an RTP packet: same header, payload from `f`. */
export function withPayload(p: RtpPacket, f: (payload: Buffer) => Buffer): RtpPacket {
  return new RtpPacket(p.header, f(Buffer.from(p.payload)));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

