/**
 * Every Prometheus metric of the server, on its own Registry (one per server instance,
 * so tests can run several servers in one process). Base units, `_total` counters,
 * closed label sets only (no session ids).
 *
 * METRIC_CATALOG below is the reference: name, type, labels and every value each label can
 * take. docs/operations.md documents the same list, the metrics test checks a live scrape
 * against it, and the monitoring test checks that every metric the alert rules, dashboard
 * and autoscaler use is in it.
 */
import client from 'prom-client';
import { ERROR_CODES } from '../shared/protocol.js';

/** Latency buckets, seconds: fine below 5 ms (per-stage costs), up to 1 s (queues, e2e). */
export const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05,
  0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1,
];

/**
 * End-to-end buckets, seconds: the latency buckets plus the SLO itself (so "share of masks
 * within the SLO" is one exact bucket, never an interpolation) and a tail up to 5 s, where a
 * stalled client ends up.
 */
export function e2eBuckets(sloSeconds: number): number[] {
  return [...new Set([...LATENCY_BUCKETS, sloSeconds, 2, 5])].sort((a, b) => a - b);
}

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
  'backpressure', // every receiver of the session (data channel, subscribers) was backed up: mask not sent
  'no_channel', // nobody to send the mask to (no open data channel, no subscriber)
  'closed', // the session ended while the frame was in flight
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** What the backbone segmented: the session's region of interest (a crop) or the whole picture. */
export const ROI_REGIONS = ['crop', 'whole'] as const;

export const KEYFRAME_REASONS = ['start', 'loss', 'decoder_error', 'ssrc_change', 'timeout'] as const;
export const SESSION_END_REASONS = ['bye', 'socket_closed', 'ice_failed', 'connect_timeout', 'media_timeout', 'shutdown', 'error'] as const;
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];
/** How a session was signaled. */
export const SIGNALING_KINDS = ['ws', 'whip'] as const;
export type SignalingKind = (typeof SIGNALING_KINDS)[number];
/** Why a session request was refused. */
export const REFUSE_REASONS = ['server_full', 'draining', 'unsupported_offer', 'bad_request', 'unauthorized', 'rate_limited', 'ip_limit'] as const;
export type RefuseReason = (typeof REFUSE_REASONS)[number];
/** Where a session's masks go: its WebRTC data channel, or a WebSocket subscriber. */
export const MASK_SINKS = ['data_channel', 'subscriber'] as const;
export type MaskSink = (typeof MASK_SINKS)[number];
export const WHIP_METHODS = ['POST', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type WhipMethod = (typeof WHIP_METHODS)[number];
/** Every status the WHIP endpoint answers with. */
export const WHIP_CODES = ['200', '201', '204', '400', '401', '403', '404', '405', '412', '413', '415', '422', '429', '500', '503'] as const;
/** Why a request was refused before reaching a session: token problems, or a WebSocket from a foreign page. */
export const ACCESS_DENIED_REASONS = ['missing_token', 'invalid_token', 'expired_token', 'insufficient_scope', 'origin'] as const;
export type AccessDeniedReason = (typeof ACCESS_DENIED_REASONS)[number];
/** Unusual things seen in a video stream (the pipeline recovers from each; these show they happened). */
export const MEDIA_EVENTS = ['ssrc_change', 'resolution_change', 'timestamp_jump', 'sequence_jump', 'unknown_payload_type'] as const;
export type MediaEvent = (typeof MEDIA_EVENTS)[number];
import { BACKENDS } from '../inference/types.js';
/** Statistics of the event-loop lag gauge. */
export const EVENT_LOOP_STATS = ['p50', 'p99', 'max'] as const;
export type EventLoopStat = (typeof EVENT_LOOP_STATS)[number];
export const MODELS = ['meet', 'selfie'] as const;

export type MetricType = 'counter' | 'gauge' | 'histogram';
export interface MetricDoc {
  readonly name: string;
  readonly type: MetricType;
  /** Label name → every value it can take. Histograms also carry `le` (not listed). */
  readonly labels: Readonly<Record<string, readonly string[]>>;
  readonly help: string;
}

/** The metrics this module defines (prom-client's default process_* and nodejs_* come on top). */
export const METRIC_CATALOG: readonly MetricDoc[] = [
  { name: 'maskstream_stage_duration_seconds', type: 'histogram', labels: { stage: STAGES }, help: 'Time a frame spends in each pipeline stage (receive = first packet to frame complete; queue = waiting in the session\'s latest-frame slot for the inference worker; server = frame complete to mask sent).' },
  { name: 'maskstream_end_to_end_latency_seconds', type: 'histogram', labels: {}, help: 'Capture to mask received, as reported by the client in its acknowledgement (data channel or subscriber socket). One bucket is exactly the latency SLO.' },
  { name: 'maskstream_latency_slo_seconds', type: 'gauge', labels: {}, help: 'The end-to-end latency objective (config latencySloMs), seconds; a bucket of maskstream_end_to_end_latency_seconds sits exactly here.' },
  { name: 'maskstream_inference_queue_wait_seconds', type: 'histogram', labels: {}, help: 'Time a frame spent inside its inference worker beyond its own compute: message passing and the other frames of its batch (the wait for a free worker is stage="queue").' },
  { name: 'maskstream_inference_busy_seconds_total', type: 'counter', labels: {}, help: 'Seconds the inference workers spent computing (preprocess + backbone share + temporal), summed over workers; rate() / maskstream_inference_workers is the utilization.' },
  { name: 'maskstream_inference_utilization_ratio', type: 'gauge', labels: {}, help: 'Share of the inference pool\'s capacity (workers × time) busy over the last 10 s, 0..1.' },
  { name: 'maskstream_inference_workers', type: 'gauge', labels: {}, help: 'Inference worker threads (one engine each; 1 = the main thread in the naive benchmark mode).' },
  { name: 'maskstream_frames_waiting', type: 'gauge', labels: {}, help: 'Decoded frames waiting for an inference worker, over all sessions (at most one per session; unbounded only in the naive benchmark mode).' },
  { name: 'maskstream_temporal_state_resets_total', type: 'counter', labels: {}, help: 'Sessions whose temporal memory was lost because their inference worker crashed (reopened empty on the replacement).' },
  { name: 'maskstream_event_loop_lag_seconds', type: 'gauge', labels: { stat: EVENT_LOOP_STATS }, help: 'Event-loop delay of the main thread (WebRTC, signaling, mask sending) over the last 10 s, from perf_hooks.monitorEventLoopDelay: median, 99th percentile, maximum.' },
  { name: 'maskstream_roi_frames_total', type: 'counter', labels: { region: ROI_REGIONS }, help: 'Frames segmented, by what the backbone saw: a crop around where the session\'s last mask found people, or the whole picture (first frames, nobody found, periodic refresh, roi off).' },
  { name: 'maskstream_temporal_memory_bytes', type: 'gauge', labels: {}, help: 'Bytes held by the temporal ring buffers of the open sessions in the inference worker (sampled every 5 s).' },
  { name: 'maskstream_load_ratio', type: 'gauge', labels: {}, help: 'Load of this instance for autoscaling: max(sessions active / session limit, inference utilization), 0..1.' },
  { name: 'maskstream_rtp_packets_received_total', type: 'counter', labels: {}, help: 'Video RTP packets received.' },
  { name: 'maskstream_frames_received_total', type: 'counter', labels: {}, help: 'Video frames assembled or given up on (every frame the sender produced that reached the server).' },
  { name: 'maskstream_frames_processed_total', type: 'counter', labels: {}, help: 'Frames that became a mask sent to at least one receiver.' },
  { name: 'maskstream_frames_dropped_total', type: 'counter', labels: { reason: DROP_REASONS }, help: 'Frames that did not become a mask, by reason.' },
  { name: 'maskstream_mask_messages_dropped_total', type: 'counter', labels: { sink: MASK_SINKS }, help: 'Mask messages not sent to one receiver because its send buffer was over maxBufferedBytes (per receiver; the frame may still have reached others).' },
  { name: 'maskstream_mask_bytes_sent_total', type: 'counter', labels: {}, help: 'Bytes of mask messages sent, over all receivers.' },
  { name: 'maskstream_mask_subscribers', type: 'gauge', labels: {}, help: 'Open mask subscriber sockets (GET /sessions/{id}/masks).' },
  { name: 'maskstream_keyframe_requests_total', type: 'counter', labels: { reason: KEYFRAME_REASONS }, help: 'PLI keyframe requests sent, by reason.' },
  { name: 'maskstream_decoder_errors_total', type: 'counter', labels: {}, help: 'Video decoder errors (each resets the decoder and requests a keyframe).' },
  { name: 'maskstream_sessions_active', type: 'gauge', labels: {}, help: 'Sessions currently open.' },
  { name: 'maskstream_sessions_limit', type: 'gauge', labels: {}, help: 'Sessions this instance admits (config maxSessions).' },
  { name: 'maskstream_sessions_started_total', type: 'counter', labels: { signaling: SIGNALING_KINDS }, help: 'Sessions admitted, by signaling (WebSocket or WHIP).' },
  { name: 'maskstream_sessions_ended_total', type: 'counter', labels: { reason: SESSION_END_REASONS }, help: 'Sessions ended, by reason.' },
  { name: 'maskstream_sessions_refused_total', type: 'counter', labels: { reason: REFUSE_REASONS }, help: 'Session requests refused, by reason.' },
  { name: 'maskstream_draining', type: 'gauge', labels: {}, help: '1 while the server drains (after SIGTERM: no new sessions), else 0.' },
  { name: 'maskstream_whip_requests_total', type: 'counter', labels: { method: WHIP_METHODS, code: WHIP_CODES }, help: 'WHIP HTTP requests answered, by method and status code.' },
  { name: 'maskstream_access_denied_total', type: 'counter', labels: { reason: ACCESS_DENIED_REASONS }, help: 'Requests refused by access control (token missing, invalid, expired or without the scope; WebSocket upgrade from a page of a foreign origin), on any endpoint.' },
  { name: 'maskstream_signaling_errors_total', type: 'counter', labels: { code: ERROR_CODES }, help: 'WebSocket signaling error messages sent to clients, by error code.' },
  { name: 'maskstream_media_events_total', type: 'counter', labels: { event: MEDIA_EVENTS }, help: 'Stream changes and anomalies the ingest recovered from: SSRC change, resolution change, RTP timestamp jump (> 5 s), sequence jump (resync), packets of an unknown payload type.' },
  { name: 'maskstream_inference_worker_restarts_total', type: 'counter', labels: {}, help: 'Inference workers replaced after a crash.' },
  { name: 'maskstream_backend_info', type: 'gauge', labels: { backend: BACKENDS, model: MODELS }, help: 'Inference backend (ort-* = ONNX Runtime with that execution provider; the rest TF.js backends) and model in use (value 1).' },
];

function doc(name: string): MetricDoc {
  const d = METRIC_CATALOG.find((m) => m.name === name);
  if (!d) throw new Error(`metric ${name} is not in METRIC_CATALOG`);
  return d;
}

export interface MetricsOptions {
  /** End-to-end latency objective, seconds (config latencySloMs / 1000). */
  readonly latencySloSeconds?: number;
  /** Session limit (config maxSessions), for maskstream_sessions_limit and the load ratio. */
  readonly maxSessions?: number;
}

export class Metrics {
  readonly registry = new client.Registry();
  readonly stageSeconds: client.Histogram<'stage'>;
  readonly e2eSeconds: client.Histogram<string>;
  readonly latencySlo: client.Gauge<string>;
  readonly inferenceQueueWait: client.Histogram<string>;
  readonly inferenceBusy: client.Counter<string>;
  readonly inferenceUtilization: client.Gauge<string>;
  readonly temporalBytes: client.Gauge<string>;
  readonly loadRatio: client.Gauge<string>;
  readonly inferenceWorkers: client.Gauge<string>;
  readonly framesWaiting: client.Gauge<string>;
  readonly temporalResets: client.Counter<string>;
  readonly roiFrames: client.Counter<'region'>;
  readonly eventLoopLag: client.Gauge<'stat'>;
  readonly rtpPackets: client.Counter<string>;
  readonly framesReceived: client.Counter<string>;
  readonly framesProcessed: client.Counter<string>;
  readonly framesDropped: client.Counter<'reason'>;
  readonly maskMessagesDropped: client.Counter<'sink'>;
  readonly maskBytes: client.Counter<string>;
  readonly maskSubscribers: client.Gauge<string>;
  readonly keyframeRequests: client.Counter<'reason'>;
  readonly decoderErrors: client.Counter<string>;
  readonly sessionsActive: client.Gauge<string>;
  readonly sessionsLimit: client.Gauge<string>;
  readonly sessionsStarted: client.Counter<'signaling'>;
  readonly sessionsEnded: client.Counter<'reason'>;
  readonly sessionsRefused: client.Counter<'reason'>;
  readonly draining: client.Gauge<string>;
  readonly whipRequests: client.Counter<'method' | 'code'>;
  readonly workerRestarts: client.Counter<string>;
  readonly accessDenied: client.Counter<'reason'>;
  readonly signalingErrors: client.Counter<'code'>;
  readonly mediaEvents: client.Counter<'event'>;
  readonly backendInfo: client.Gauge<'backend' | 'model'>;

  constructor(opts: MetricsOptions = {}) {
    const r = [this.registry];
    const slo = opts.latencySloSeconds ?? 0.1;
    client.collectDefaultMetrics({ register: this.registry });
    const counter = <L extends string>(name: string, zeroes = true) => {
      const d = doc(name);
      const c = new client.Counter<L>({ name, help: d.help, labelNames: Object.keys(d.labels) as L[], registers: r });
      // Every documented series exists from the start (at 0), so rate() and absent() work
      // before the first event. Only single-label counters: a cross product would be noise.
      const keys = Object.keys(d.labels);
      if (zeroes && keys.length === 1) for (const v of d.labels[keys[0]!]!) c.inc({ [keys[0]!]: v } as Partial<Record<L, string>>, 0);
      return c;
    };
    const gauge = <L extends string>(name: string) => {
      const d = doc(name);
      return new client.Gauge<L>({ name, help: d.help, labelNames: Object.keys(d.labels) as L[], registers: r });
    };
    const histogram = <L extends string>(name: string, buckets: number[]) => {
      const d = doc(name);
      return new client.Histogram<L>({ name, help: d.help, labelNames: Object.keys(d.labels) as L[], buckets, registers: r });
    };
    this.stageSeconds = histogram('maskstream_stage_duration_seconds', LATENCY_BUCKETS);
    this.e2eSeconds = histogram('maskstream_end_to_end_latency_seconds', e2eBuckets(slo));
    this.latencySlo = gauge('maskstream_latency_slo_seconds');
    this.latencySlo.set(slo);
    this.inferenceQueueWait = histogram('maskstream_inference_queue_wait_seconds', LATENCY_BUCKETS);
    this.inferenceBusy = counter('maskstream_inference_busy_seconds_total');
    this.inferenceUtilization = gauge('maskstream_inference_utilization_ratio');
    this.temporalBytes = gauge('maskstream_temporal_memory_bytes');
    this.loadRatio = gauge('maskstream_load_ratio');
    this.inferenceWorkers = gauge('maskstream_inference_workers');
    this.framesWaiting = gauge('maskstream_frames_waiting');
    this.temporalResets = counter('maskstream_temporal_state_resets_total');
    this.roiFrames = counter('maskstream_roi_frames_total');
    this.eventLoopLag = gauge('maskstream_event_loop_lag_seconds');
    for (const stat of EVENT_LOOP_STATS) this.eventLoopLag.set({ stat }, 0);
    this.rtpPackets = counter('maskstream_rtp_packets_received_total');
    this.framesReceived = counter('maskstream_frames_received_total');
    this.framesProcessed = counter('maskstream_frames_processed_total');
    this.framesDropped = counter('maskstream_frames_dropped_total');
    this.maskMessagesDropped = counter('maskstream_mask_messages_dropped_total');
    this.maskBytes = counter('maskstream_mask_bytes_sent_total');
    this.maskSubscribers = gauge('maskstream_mask_subscribers');
    this.keyframeRequests = counter('maskstream_keyframe_requests_total');
    this.decoderErrors = counter('maskstream_decoder_errors_total');
    this.sessionsActive = gauge('maskstream_sessions_active');
    this.sessionsLimit = gauge('maskstream_sessions_limit');
    if (opts.maxSessions !== undefined) this.sessionsLimit.set(opts.maxSessions);
    this.sessionsStarted = counter('maskstream_sessions_started_total');
    this.sessionsEnded = counter('maskstream_sessions_ended_total');
    this.sessionsRefused = counter('maskstream_sessions_refused_total');
    this.draining = gauge('maskstream_draining');
    this.draining.set(0);
    this.whipRequests = counter('maskstream_whip_requests_total');
    this.workerRestarts = counter('maskstream_inference_worker_restarts_total');
    this.accessDenied = counter('maskstream_access_denied_total');
    this.signalingErrors = counter('maskstream_signaling_errors_total');
    this.mediaEvents = counter('maskstream_media_events_total');
    this.backendInfo = gauge('maskstream_backend_info');
    for (const g of [this.sessionsActive, this.maskSubscribers, this.temporalBytes, this.loadRatio, this.inferenceUtilization, this.inferenceWorkers, this.framesWaiting]) g.set(0);
  }

  observeStage(stage: Stage, ms: number): void {
    this.stageSeconds.observe({ stage }, ms / 1000);
  }

  drop(reason: DropReason, n = 1): void {
    this.framesDropped.inc({ reason }, n);
  }

  refuse(reason: RefuseReason): void {
    this.sessionsRefused.inc({ reason });
  }
}
