/**
 * Every Prometheus metric of the server, on its own Registry (one per server instance,
 * so tests can run several servers in one process). Base units, `_total` counters,
 * closed label sets only (no session ids).
 */
import client from 'prom-client';

/** Latency buckets, seconds: fine below 5 ms (per-stage costs), up to 1 s (queues, e2e). */
export const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05,
  0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1,
];

export const STAGES = ['receive', 'decode', 'preprocess', 'inference', 'temporal', 'encode', 'queue', 'server'] as const;
export type Stage = (typeof STAGES)[number];

/** Why a frame did not become a mask. Closed set (metric label). */
export const DROP_REASONS = [
  'incomplete', // packets lost and not recovered in time
  'corrupt', // the depacketizer rejected the payload
  'too_large', // above the configured pixel or byte limit
  'waiting_keyframe', // delta frame after loss, before the next keyframe
  'decoder_busy', // decoder queue full
  'decode_error', // the decoder failed on it (or on a frame before it)
  'decoder_skipped', // the decoder consumed it without producing a picture
  'superseded', // a newer frame replaced it while it waited (latest frame wins)
  'inference_error', // the inference worker failed or crashed
  'backpressure', // the data channel was backed up: mask not sent
  'no_channel', // no open data channel to send the mask on
  'closed', // the session ended while the frame was in flight
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export const KEYFRAME_REASONS = ['start', 'loss', 'decoder_error', 'ssrc_change', 'timeout'] as const;
export const SESSION_END_REASONS = ['bye', 'socket_closed', 'ice_failed', 'connect_timeout', 'media_timeout', 'shutdown', 'error'] as const;
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

export class Metrics {
  readonly registry = new client.Registry();
  readonly stageSeconds: client.Histogram<'stage'>;
  readonly e2eSeconds: client.Histogram<string>;
  readonly rtpPackets: client.Counter<string>;
  readonly framesReceived: client.Counter<string>;
  readonly framesProcessed: client.Counter<string>;
  readonly framesDropped: client.Counter<'reason'>;
  readonly keyframeRequests: client.Counter<'reason'>;
  readonly decoderErrors: client.Counter<string>;
  readonly sessionsActive: client.Gauge<string>;
  readonly sessionsStarted: client.Counter<string>;
  readonly sessionsEnded: client.Counter<'reason'>;
  readonly sessionsRefused: client.Counter<'reason'>;
  readonly workerRestarts: client.Counter<string>;
  readonly backendInfo: client.Gauge<'backend' | 'model'>;
  readonly maskBytes: client.Counter<string>;

  constructor() {
    const r = [this.registry];
    client.collectDefaultMetrics({ register: this.registry });
    this.stageSeconds = new client.Histogram({
      name: 'maskstream_stage_duration_seconds',
      help: 'Time a frame spends in each pipeline stage (receive = first packet to frame complete; queue = waiting for the inference worker; server = frame complete to mask sent).',
      labelNames: ['stage'],
      buckets: LATENCY_BUCKETS,
      registers: r,
    });
    this.e2eSeconds = new client.Histogram({
      name: 'maskstream_end_to_end_latency_seconds',
      help: 'Capture to mask received, as reported by the client in its acknowledgement.',
      buckets: LATENCY_BUCKETS,
      registers: r,
    });
    this.rtpPackets = new client.Counter({ name: 'maskstream_rtp_packets_received_total', help: 'Video RTP packets received.', registers: r });
    this.framesReceived = new client.Counter({ name: 'maskstream_frames_received_total', help: 'Video frames assembled or given up on (every frame the sender produced that reached the server).', registers: r });
    this.framesProcessed = new client.Counter({ name: 'maskstream_frames_processed_total', help: 'Frames that became a mask sent to the client.', registers: r });
    this.framesDropped = new client.Counter({ name: 'maskstream_frames_dropped_total', help: 'Frames that did not become a mask, by reason.', labelNames: ['reason'], registers: r });
    for (const reason of DROP_REASONS) this.framesDropped.inc({ reason }, 0);
    this.keyframeRequests = new client.Counter({ name: 'maskstream_keyframe_requests_total', help: 'PLI keyframe requests sent, by reason.', labelNames: ['reason'], registers: r });
    for (const reason of KEYFRAME_REASONS) this.keyframeRequests.inc({ reason }, 0);
    this.decoderErrors = new client.Counter({ name: 'maskstream_decoder_errors_total', help: 'Video decoder errors (each resets the decoder and requests a keyframe).', registers: r });
    this.sessionsActive = new client.Gauge({ name: 'maskstream_sessions_active', help: 'Sessions currently open.', registers: r });
    this.sessionsStarted = new client.Counter({ name: 'maskstream_sessions_started_total', help: 'Sessions admitted.', registers: r });
    this.sessionsEnded = new client.Counter({ name: 'maskstream_sessions_ended_total', help: 'Sessions ended, by reason.', labelNames: ['reason'], registers: r });
    for (const reason of SESSION_END_REASONS) this.sessionsEnded.inc({ reason }, 0);
    this.sessionsRefused = new client.Counter({ name: 'maskstream_sessions_refused_total', help: 'Session requests refused, by reason.', labelNames: ['reason'], registers: r });
    for (const reason of ['server_full', 'unsupported_offer', 'bad_request']) this.sessionsRefused.inc({ reason }, 0);
    this.workerRestarts = new client.Counter({ name: 'maskstream_inference_worker_restarts_total', help: 'Inference workers replaced after a crash.', registers: r });
    this.backendInfo = new client.Gauge({ name: 'maskstream_backend_info', help: 'Inference backend and model in use (value 1).', labelNames: ['backend', 'model'], registers: r });
    this.maskBytes = new client.Counter({ name: 'maskstream_mask_bytes_sent_total', help: 'Bytes of mask messages sent.', registers: r });
  }

  observeStage(stage: Stage, ms: number): void {
    this.stageSeconds.observe({ stage }, ms / 1000);
  }

  drop(reason: DropReason, n = 1): void {
    this.framesDropped.inc({ reason }, n);
  }
}
