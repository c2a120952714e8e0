/**
 * One live session: owns its werift peer connection, the ingest stages, the decoder and
 * the mask fan-out (data channel and/or WebSocket subscribers), and wires them to the shared
 * inference pool. Signaling-agnostic: WebSocket signaling and WHIP drive the same class.
 *
 *   RTP → RtpIngest (reorder → assemble) → DecoderStage → (I420 buffer transferred)
 *       → InferencePool: latest-frame slot → worker (I420 → RGB, backbone + temporal)
 *       → mask codec → MaskFanout
 *
 * Close cascade (runs once): timers → decoder → inference session state (waiting frame, then
 * temporal memory) →
 * mask receivers (data channel detached, subscribers told why and closed) → data channel →
 * peer connection → onClosed callback (registry removes it).
 */
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import {
  RTCPeerConnection,
  RTCRtpCodecParameters,
  type RTCDataChannel,
  type RTCRtpTransceiver,
  type RtpPacket,
  useNACK,
  usePLI,
  useREMB,
  useFIR,
} from 'werift';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { DropReason, Metrics, SessionEndReason, SignalingKind } from '../observability/metrics.js';
import type { EncodedFrame, KeyframeReason, VideoCodecName } from '../ingest/types.js';
import { RtpIngest, type IngestOutput } from '../ingest/rtpIngest.js';
import { DecoderStage } from '../decode/videoDecoder.js';
import type { I420Picture } from '../decode/types.js';
import type { EngineInfo, InferenceOutcome, InferencePort } from '../inference/types.js';
import { packI420Picture } from '../inference/packedI420.js';
import { MaskFanout, type SubscriberPort } from '../egress/maskFanout.js';
import { encodeMask, stampEncodeMs, stampSendTime } from '../shared/maskCodec.js';
import { MASKS_CHANNEL_LABEL, MAX_CLIENT_DC_MESSAGE_BYTES, parseAck, ProtocolError, type ByeReason } from '../shared/protocol.js';

export interface SessionDeps {
  readonly config: Config;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly inference: InferencePort;
  readonly engineInfo: EngineInfo;
}

/** Per-frame context carried from assembly to send. Times in ms, performance.now() clock. */
interface FrameContext {
  readonly seq: number;
  readonly rtpTimestamp: number;
  readonly firstPacketMs: number;
  readonly completeMs: number;
  decodeMs: number;
}

export class UnsupportedOfferError extends Error {
  override readonly name = 'UnsupportedOfferError';
}

/**
 * Audio is negotiated only so that offers carrying it work: most WHIP publishers (OBS,
 * GStreamer, browsers with a microphone) offer audio with the video, and werift refuses an
 * m-line it has no codec for, failing the whole offer. The audio section is answered recvonly
 * inside the BUNDLE and its packets are ignored (a few kbit/s). Declining it instead (port 0)
 * makes werift's answer unacceptable to Chromium when audio is the BUNDLE tag.
 */
export function audioCodecs(): RTCRtpCodecParameters[] {
  return [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })];
}

/** Video codecs the server negotiates (VP8 first). RTX for each, NACK/PLI/FIR/REMB feedback. */
export function videoCodecs(): RTCRtpCodecParameters[] {
  const fb = () => [useNACK(), usePLI(), useFIR(), useREMB()];
  return [
    new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, payloadType: 96, rtcpFeedback: fb() }),
    new RTCRtpCodecParameters({ mimeType: 'video/rtx', clockRate: 90000, payloadType: 97, parameters: 'apt=96' }),
    new RTCRtpCodecParameters({
      mimeType: 'video/H264', clockRate: 90000, payloadType: 102, rtcpFeedback: fb(),
      parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
    }),
    new RTCRtpCodecParameters({ mimeType: 'video/rtx', clockRate: 90000, payloadType: 103, parameters: 'apt=102' }),
  ];
}

export class Session {
  readonly id: string = randomUUID();
  readonly createdAt = performance.now();
  private readonly log: Logger;
  private readonly pc: RTCPeerConnection;
  private transceiver: RTCRtpTransceiver | undefined;
  /** Created with the answer, from the negotiated payload types. */
  private ingest: RtpIngest | undefined;
  private readonly decoder: DecoderStage<FrameContext>;
  private readonly fanout: MaskFanout;
  private channel: RTCDataChannel | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly ptToCodec = new Map<number, VideoCodecName>();
  private frameSeq = 0;
  private dropped = 0;
  private processed = 0;
  private lastRtpMs = 0;
  private lastPliMs = -Infinity;
  private closedReason: SessionEndReason | undefined;

  constructor(
    private readonly deps: SessionDeps,
    private readonly onClosed: (session: Session, reason: SessionEndReason) => void,
    /** How the session was signaled (logs and metrics only; the pipeline is the same). */
    readonly signaling: SignalingKind = 'ws',
  ) {
    const { config } = deps;
    this.log = deps.logger.child({ session: this.id, signaling });
    this.fanout = new MaskFanout(config.maxBufferedBytes, config.maxMaskSubscribers);
    this.pc = new RTCPeerConnection({
      codecs: { video: videoCodecs(), audio: audioCodecs() },
      iceServers: config.iceServers.map((urls) => ({ urls })),
      // Advertised SCTP max-message-size: clients send only acks (MAX_ACK_BYTES) on the data
      // channel; browsers refuse to send anything larger than this, bytes.
      maxMessageSize: MAX_CLIENT_DC_MESSAGE_BYTES,
      ...(config.icePortRange ? { icePortRange: [config.icePortRange[0], config.icePortRange[1]] as [number, number] } : {}),
    });
    this.decoder = new DecoderStage<FrameContext>({
      onPicture: (pic, meta) => this.onPicture(pic, meta.decodeMs, meta.tag),
      onError: (err) => this.onDecoderError(err),
      onSkipped: (_ctx, reason) => this.drop(this.closed ? 'closed' : reason),
    });
    this.pc.onDataChannel.subscribe((dc) => this.onDataChannel(dc));
    this.pc.connectionStateChange.subscribe((state) => {
      this.log.debug('connection state', { state });
      if (state === 'failed') this.close('ice_failed');
      if (state === 'closed') this.close('ice_failed');
    });
    this.pc.iceConnectionStateChange.subscribe((state) => {
      if (state === 'failed') this.close('ice_failed');
    });
    this.pc.onTrack.subscribe((track) => {
      if (track.kind !== 'video') return;
      track.onReceiveRtp.subscribe((rtp) => this.onRtp(rtp));
    });
    // Connect timeout: ICE + DTLS must complete soon after the answer.
    this.timers.push(setTimeout(() => {
      if (this.pc.connectionState !== 'connected') this.close('connect_timeout');
    }, config.connectTimeoutMs));
    // Media watchdog: flushes a stalled reorder buffer and reaps a silent peer.
    this.timers.push(setInterval(() => this.tick(), 100));
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  get stats() {
    return { id: this.id, processed: this.processed, dropped: this.dropped, frames: this.frameSeq, state: this.pc.connectionState, subscribers: this.fanout.subscriberCount };
  }

  /** The remote description's ICE credentials (WHIP tells trickle from an ICE restart with them). */
  get remoteIce(): { ufrag: string; pwd: string } | undefined {
    const sdp = this.pc.remoteDescription?.sdp;
    if (!sdp) return undefined;
    const ufrag = /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1];
    const pwd = /^a=ice-pwd:(\S+)/m.exec(sdp)?.[1];
    return ufrag && pwd ? { ufrag, pwd } : undefined;
  }

  /**
   * Adds a WebSocket mask subscriber; it gets the same binary messages as the data channel.
   * Throws SubscriberLimitError when the session has maxMaskSubscribers already (or ended).
   * Returns the function that removes it (the adapter calls it when its socket closes).
   */
  addSubscriber(sub: SubscriberPort): () => void {
    return this.fanout.addSubscriber(sub);
  }

  /** A text acknowledgement from a mask receiver (data channel or subscriber socket). */
  acceptAck(text: string): void {
    try {
      const ack = parseAck(text);
      if (ack.e2eMs !== undefined) this.deps.metrics.e2eSeconds.observe(ack.e2eMs / 1000);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.log.debug('bad ack ignored', { error: e.message });
    }
  }

  /** Apply the client's offer and return the answer SDP (host candidates gathered, no server trickle). */
  async answer(offerSdp: string): Promise<string> {
    if (!/^m=video /m.test(offerSdp)) throw new UnsupportedOfferError('the offer has no video m-line');
    try {
      await this.pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
    } catch (e) {
      throw new UnsupportedOfferError(`cannot apply the offer: ${(e as Error).message}`);
    }
    const video = this.pc.getTransceivers().find((t) => t.kind === 'video');
    if (!video) throw new UnsupportedOfferError('the offer has no video m-line');
    if (video.codecs.filter((c) => /vp8|h264/i.test(c.mimeType)).length === 0) {
      throw new UnsupportedOfferError('the offer has no supported video codec (VP8 or H.264 packetization-mode=1)');
    }
    this.transceiver = video;
    video.setDirection('recvonly');
    for (const c of video.codecs) {
      if (/vp8/i.test(c.mimeType)) this.ptToCodec.set(c.payloadType!, 'vp8');
      else if (/h264/i.test(c.mimeType)) this.ptToCodec.set(c.payloadType!, 'h264');
    }
    this.ingest = new RtpIngest({ codecs: this.ptToCodec, maxFramePixels: this.deps.config.maxFramePixels, reorderWaitMs: this.deps.config.reorderWaitMs });
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    const sdp = this.pc.localDescription?.sdp;
    if (!sdp) throw new Error('werift produced no local description');
    this.log.info('session answered', { codecs: [...new Set(this.ptToCodec.values())] });
    return sdp;
  }

  async addCandidate(c: { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null }): Promise<void> {
    if (c.candidate === '') return; // end of candidates
    await this.pc.addIceCandidate({ candidate: c.candidate, sdpMid: c.sdpMid ?? undefined, sdpMLineIndex: c.sdpMLineIndex ?? undefined });
  }

  private onDataChannel(dc: RTCDataChannel): void {
    if (dc.label !== MASKS_CHANNEL_LABEL || this.channel) {
      this.log.warn('unexpected data channel closed', { label: dc.label.slice(0, 32) });
      dc.close();
      return;
    }
    this.channel = dc;
    this.fanout.attachChannel(dc);
    dc.onMessage.subscribe((data) => {
      if (typeof data === 'string') this.acceptAck(data); // acks are text; ignore anything else
    });
  }

  private onRtp(rtp: RtpPacket): void {
    if (this.closed || !this.ingest) return;
    const now = performance.now();
    this.lastRtpMs = now;
    this.deps.metrics.rtpPackets.inc();
    const h = rtp.header;
    this.handle(this.ingest.push({
      seq: h.sequenceNumber,
      timestamp: h.timestamp,
      marker: h.marker,
      ssrc: h.ssrc,
      payloadType: h.payloadType,
      payload: rtp.payload,
      arrivalMs: now,
    }, now));
  }

  /** Every output of the ingest stage lands here. */
  private handle(outs: readonly IngestOutput[]): void {
    const m = this.deps.metrics;
    for (const o of outs) {
      if (o.kind === 'frame') {
        m.framesReceived.inc();
        this.onFrame(o.frame);
      } else if (o.kind === 'stream_event') {
        m.mediaEvents.inc({ event: o.event });
      } else if (o.kind === 'keyframe_needed') {
        this.requestKeyframe(o.reason);
      } else {
        m.framesReceived.inc();
        this.drop(o.reason);
      }
    }
  }

  private onFrame(frame: EncodedFrame): void {
    const ctx: FrameContext = {
      seq: this.frameSeq++,
      rtpTimestamp: frame.rtpTimestamp,
      firstPacketMs: frame.firstPacketMs,
      completeMs: frame.completeMs,
      decodeMs: 0,
    };
    const m = this.deps.metrics;
    m.observeStage('receive', frame.completeMs - frame.firstPacketMs);
    const outcome = this.decoder.decode(frame, ctx);
    if (outcome === 'queued') return;
    if (outcome === 'closed') {
      this.drop('closed');
      return;
    }
    // 'busy': the decoder is far behind (it never is at 2 ms/frame unless the host is
    // starved); dropping an encoded frame breaks the reference chain, so start over from a
    // keyframe. 'needs_keyframe': the decoder was discarded after an error.
    this.drop(outcome === 'busy' ? 'decoder_busy' : 'waiting_keyframe');
    if (outcome === 'busy') this.decoder.reset();
    if (this.ingest) this.handle(this.ingest.requestKeyframe('decoder_error', performance.now()));
  }

  private onPicture(pic: I420Picture, decodeMs: number, ctx: FrameContext): void {
    if (this.closed) return;
    ctx.decodeMs = decodeMs;
    this.deps.metrics.observeStage('decode', decodeMs);
    // Nobody to send a mask to (WHIP before its first subscriber, or a data channel not open
    // yet): the frame was decoded to keep the reference chain, but inference would be wasted.
    if (!this.fanout.hasReceivers) {
      this.drop('no_channel');
      return;
    }
    // The decoded picture's buffer moves to the inference worker, which resizes and converts
    // it: nothing of the frame's preprocessing runs on this (the WebRTC) thread.
    this.deps.inference.submit(this.id, { i420: packI420Picture(pic) }).then(
      (outcome) => {
        if (outcome.kind === 'mask') this.onMask(ctx, outcome);
        else this.drop(this.closed ? 'closed' : outcome.reason);
      },
      (err: Error) => {
        if (!this.closed) this.log.warn('inference failed, frame dropped', { error: err.message });
        this.drop(this.closed ? 'closed' : 'inference_error');
      },
    );
  }

  private onMask(ctx: FrameContext, outcome: Extract<InferenceOutcome, { kind: 'mask' }>): void {
    if (this.closed) {
      this.drop('closed');
      return;
    }
    const res = outcome.result;
    const preprocessMs = res.preprocessMs ?? 0;
    const m = this.deps.metrics;
    m.observeStage('queue', outcome.queueMs);
    m.observeStage('preprocess', preprocessMs);
    const inferenceMs = res.inferenceMs;
    m.observeStage('inference', inferenceMs);
    // The region of interest (uncrop + next box) is temporal machinery: reported with the stage.
    const temporalMs = res.temporalMs + (res.roiMs ?? 0);
    m.observeStage('temporal', temporalMs);
    m.roiFrames.inc({ region: res.region ?? 'whole' });
    const t0 = performance.now();
    const msg = encodeMask({
      seq: ctx.seq,
      rtpTimestamp: ctx.rtpTimestamp,
      width: res.width,
      height: res.height,
      alpha: res.mask,
      serverSendTime: 0,
      timings: {
        receiveMs: ctx.completeMs - ctx.firstPacketMs,
        decodeMs: ctx.decodeMs,
        preprocessMs,
        inferenceMs,
        temporalMs,
        encodeMs: 0,
        serverMs: 0,
      },
      droppedFrames: this.dropped,
      // Crops' detail layers (version 2 message), boxes in the decoded picture's pixels.
      ...(res.details?.length ? { details: res.details, pictureWidth: res.details[0]!.box.pictureWidth, pictureHeight: res.details[0]!.box.pictureHeight } : {}),
    });
    const t1 = performance.now();
    const encodeMs = t1 - t0;
    stampEncodeMs(msg, encodeMs);
    stampSendTime(msg, performance.timeOrigin + t1, t1 - ctx.completeMs);
    const report = this.fanout.send(msg);
    for (const sink of report.backpressure) m.maskMessagesDropped.inc({ sink });
    if (report.sent === 0) {
      this.drop(report.backpressure.length > 0 ? 'backpressure' : 'no_channel');
      return;
    }
    this.processed++;
    m.framesProcessed.inc();
    m.maskBytes.inc(msg.byteLength * report.sent);
    m.observeStage('encode', encodeMs);
    m.observeStage('server', t1 - ctx.completeMs);
  }

  private onDecoderError(err: Error): void {
    if (this.closed) return;
    this.deps.metrics.decoderErrors.inc();
    this.log.warn('decoder error; requesting a keyframe', { error: err.message });
    if (this.ingest) this.handle(this.ingest.requestKeyframe('decoder_error', performance.now()));
  }

  private requestKeyframe(reason: KeyframeReason): void {
    const now = performance.now();
    // PLIs closer than 100 ms apart add nothing: the encoder is already producing one.
    const ssrc = this.ingest?.ssrc;
    if (now - this.lastPliMs < 100 || ssrc === undefined || !this.transceiver) return;
    this.lastPliMs = now;
    this.deps.metrics.keyframeRequests.inc({ reason });
    this.transceiver.receiver.sendRtcpPLI(ssrc).catch((e: Error) => this.log.debug('PLI failed', { error: e.message }));
  }

  private drop(reason: DropReason): void {
    this.dropped++;
    this.deps.metrics.drop(reason);
  }

  private tick(): void {
    if (this.closed) return;
    const now = performance.now();
    if (this.ingest) this.handle(this.ingest.tick(now));
    const connected = this.pc.connectionState === 'connected';
    const since = this.lastRtpMs || this.createdAt;
    if (connected && now - since > this.deps.config.mediaTimeoutMs) this.close('media_timeout');
  }

  /** End the session (idempotent). */
  close(reason: SessionEndReason): void {
    if (this.closedReason) return;
    this.closedReason = reason;
    for (const t of this.timers) clearTimeout(t);
    this.decoder.close();
    this.deps.inference.closeSession(this.id);
    this.fanout.close(Session.byeReason(reason));
    try {
      this.channel?.close();
    } catch (e) {
      this.log.debug('data channel close failed during teardown', { error: (e as Error).message });
    }
    this.pc.close().catch((e: Error) => this.log.debug('peer close failed during teardown', { error: e.message }));
    this.log.info('session closed', { reason, processed: this.processed, dropped: this.dropped });
    this.onClosed(this, reason);
  }

  /** The ByeReason told to the client for a SessionEndReason. */
  static byeReason(reason: SessionEndReason): ByeReason {
    switch (reason) {
      case 'bye': return 'bye';
      case 'ice_failed': return 'ice_failed';
      case 'connect_timeout':
      case 'media_timeout': return 'timeout';
      case 'shutdown': return 'shutdown';
      default: return 'error';
    }
  }
}
