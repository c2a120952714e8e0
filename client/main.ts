/**
 * maskstream client: camera → WebRTC (to the server) → masks back on a data channel →
 * composited with the frame each mask was computed from, at the camera's frame rate.
 */

import type { MaskTimings } from '../src/shared/maskCodec.js';
import { CameraError, openCamera, type Camera } from './capture.js';
import { Compositor } from './compositor.js';
import { FrameMatcher } from './frameMatcher.js';
import { Hud } from './hud.js';
import { LocalFrameQueue } from './localFrames.js';
import { attachMaskReceiver, type ReceivedMask } from './maskReceiver.js';
import { isEffect, parseOptions } from './params.js';
import { Playout } from './playout.js';
import { publish, type Publication } from './publisher.js';
import { signalUrl } from './signaling.js';
import { pushBounded, RateMeter, WindowedSamples } from './stats.js';
import { describe, installHooks, MAX_MASK_TIMES, recordError } from './testHooks.js';
import { RtpCaptureMapper } from './timestampMapper.js';

const HUD_INTERVAL_MS = 250;
/** Local frames kept for matching, ms of capture time. */
const FRAME_QUEUE_MS = 500;

function el<T extends HTMLElement>(id: string, type: new () => T): T {
  const e = document.getElementById(id);
  if (!(e instanceof type)) throw new Error(`page is missing #${id}`);
  return e;
}

const options = parseOptions(location.search);
const hooks = installHooks();
const ui = {
  start: el('start', HTMLButtonElement),
  effect: el('effect', HTMLSelectElement),
  view: el('view', HTMLCanvasElement),
  hud: el('hud', HTMLElement),
  status: el('status', HTMLElement),
  message: el('message', HTMLElement),
};
const hud = new Hud(ui.hud);
const compositor = new Compositor(ui.view, options.effect);
hooks.snapshotMask = async () => {
  const s = compositor.lastShown();
  if (!s) return null;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', s.composed.slice()));
  let message = '';
  for (let i = 0; i < s.raw.length; i++) message += String.fromCharCode(s.raw[i]!);
  return { message: btoa(message), sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join(''), width: s.width, height: s.height };
};
ui.effect.value = options.effect;
ui.effect.addEventListener('change', () => {
  if (isEffect(ui.effect.value)) compositor.effect = ui.effect.value;
});

/** The page's state everywhere it shows: status line, HUD, body attribute, test hooks; errors also in the message box. */
function setState(state: string, detail?: string): void {
  hooks.state = state;
  ui.status.textContent = detail ? `${state}: ${detail}` : state;
  document.body.dataset.state = state;
  hud.setState(state);
  ui.message.textContent = state === 'error' && detail ? detail : '';
  ui.message.hidden = ui.message.textContent === '';
}

function reportError(message: string): void {
  recordError(hooks, message);
  console.error(`maskstream: ${message}`);
}

/** One run from Start to Stop. */
class Run {
  private camera: Camera | undefined;
  private queue: LocalFrameQueue | undefined;
  private publication: Publication | undefined;
  private playout: Playout | undefined;
  private readonly mapper = new RtpCaptureMapper();
  private readonly cameraRate = new RateMeter();
  private readonly maskRate = new RateMeter();
  private readonly e2e = new WindowedSamples(1000);
  private readonly misalignment = new WindowedSamples(1000);
  private readonly timings: { t: number; v: MaskTimings }[] = [];
  private lastMask: ReceivedMask | undefined;
  private renderPending = false;
  private hudTimer: ReturnType<typeof setInterval> | undefined;
  private stopped = false;

  async start(): Promise<void> {
    setState('camera');
    this.camera = await openCamera();
    if (this.stopped) return;
    const queue = new LocalFrameQueue(this.camera.track, {
      maxAgeMs: FRAME_QUEUE_MS,
      onFrame: (f) => {
        this.cameraRate.tick(f.readAtMs);
        const capturedAt = queue.captureToPageMs(f.tsUs);
        if (capturedAt !== undefined) this.mapper.addLocal(f.tsUs, capturedAt);
        this.scheduleRender();
      },
      onError: (e) => reportError(`camera frames: ${describe(e)}`),
    });
    this.queue = queue;
    queue.start();
    this.playout = new Playout(queue);
    this.hudTimer = setInterval(() => this.updateHud(), HUD_INTERVAL_MS);

    setState('connecting');
    const pub = await publish({
      signalUrl: signalUrl(),
      stream: this.camera.stream,
      track: this.camera.track,
      iceServers: options.iceServers,
      codec: options.codec,
      token: options.token,
      onObservation: (o) => this.mapper.addEncoded(o),
      onError: reportError,
      onEnded: (reason) => {
        this.stop();
        setState('ended', reason);
        ui.start.textContent = 'Start';
      },
      onConnectionState: (s) => {
        if (hooks.state === 'negotiated' || hooks.state === 'connecting') setState(s === 'connected' ? 'waiting' : 'negotiated', s);
      },
    });
    if (this.stopped) {
      pub.close();
      return;
    }
    this.publication = pub;
    hooks.sessionId = pub.answer.sessionId;
    attachMaskReceiver(pub.channel, {
      matcher: new FrameMatcher(queue, this.mapper),
      captureToPageMs: (ts) => queue.captureToPageMs(ts),
      onMask: (m) => this.onMask(m),
      onError: reportError,
    });
    if (hooks.state === 'connecting') setState('negotiated');
  }

  private onMask(m: ReceivedMask): void {
    hooks.masksReceived++;
    pushBounded(hooks.maskTimes, m.receivedAtMs, MAX_MASK_TIMES);
    pushBounded(hooks.maskSeqs, m.msg.seq, MAX_MASK_TIMES);
    pushBounded(hooks.maskDropped, m.msg.droppedFrames, MAX_MASK_TIMES);
    hooks.lastTimings = m.msg.timings;
    if (m.frame) hooks.matched++;
    else hooks.unmatched++;
    if (m.e2eMs !== undefined) {
      hooks.e2eMs = m.e2eMs;
      this.e2e.add(m.receivedAtMs, m.e2eMs);
    }
    this.maskRate.tick(m.receivedAtMs);
    this.timings.push({ t: m.receivedAtMs, v: m.msg.timings });
    this.lastMask = m;
    this.playout?.addMask(m);
    if (hooks.state !== 'streaming') setState('streaming');
  }

  /** Renders are driven by camera frames, coalesced to one per animation frame. */
  private scheduleRender(): void {
    if (this.renderPending) return;
    this.renderPending = true;
    requestAnimationFrame(() => {
      this.renderPending = false;
      if (this.stopped || !this.playout) return;
      const now = performance.now();
      const pick = this.playout.pick(now);
      if (!pick) return;
      compositor.render(pick);
      if (pick.misalignmentMs !== undefined) {
        hooks.misalignmentMs = pick.misalignmentMs;
        this.misalignment.add(now, pick.misalignmentMs);
      }
    });
  }

  private meanTimings(now: number): MaskTimings | undefined {
    while (this.timings.length > 0 && this.timings[0]!.t < now - 1000) this.timings.shift();
    if (this.timings.length === 0) return this.lastMask?.msg.timings;
    const sum: MaskTimings = { receiveMs: 0, decodeMs: 0, preprocessMs: 0, inferenceMs: 0, temporalMs: 0, encodeMs: 0, serverMs: 0 };
    for (const { v } of this.timings) for (const k of Object.keys(sum) as (keyof MaskTimings)[]) sum[k] += v[k];
    for (const k of Object.keys(sum) as (keyof MaskTimings)[]) sum[k] /= this.timings.length;
    return sum;
  }

  private updateHud(): void {
    const now = performance.now();
    const a = this.publication?.answer;
    const mapping = this.mapper.describe();
    hooks.mapping = { ...mapping, tap: this.publication?.tap.mode ?? 'none' };
    const timings = this.meanTimings(now);
    const e2eMs = this.e2e.mean(now);
    const misalignmentMs = this.misalignment.mean(now);
    hud.update({
      state: hooks.state,
      ...(a ? { backend: a.backend, provider: a.provider, model: a.model, maskSize: `${a.maskWidth}×${a.maskHeight}` } : {}),
      ...(this.publication ? { codec: this.publication.codec } : {}),
      mapping: mapping.source === 'none' ? `learning (${this.publication?.tap.mode ?? 'no tap'})` : `${mapping.source}, lag ${mapping.lagMs} ms`,
      cameraFps: this.cameraRate.rate(now),
      maskFps: this.maskRate.rate(now),
      ...(timings ? { timings } : {}),
      ...(e2eMs !== undefined ? { e2eMs } : {}),
      ...(misalignmentMs !== undefined ? { misalignmentMs } : {}),
      ...(this.playout ? { displayDelayMs: this.playout.displayDelayMs } : {}),
      matched: hooks.matched,
      unmatched: hooks.unmatched,
      ...(this.lastMask ? { droppedFrames: this.lastMask.msg.droppedFrames } : {}),
    });
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.publication?.close();
    this.queue?.close();
    this.camera?.stop();
    if (this.hudTimer !== undefined) clearInterval(this.hudTimer);
    this.updateHud();
  }
}

let run: Run | undefined;

async function start(): Promise<void> {
  run?.stop();
  const r = new Run();
  run = r;
  ui.start.textContent = 'Stop';
  try {
    await r.start();
  } catch (e) {
    // The state first, so the HUD that stop() redraws says "error", not the step that failed.
    const message = e instanceof CameraError ? e.message : describe(e);
    setState('error', message);
    r.stop();
    reportError(e instanceof CameraError && e.browserError ? `${e.browserError}: ${message}` : message);
    ui.start.textContent = 'Start';
  }
}

function stop(): void {
  run?.stop();
  run = undefined;
  setState('stopped');
  ui.start.textContent = 'Start';
}

ui.start.addEventListener('click', () => {
  if (run && hooks.state !== 'ended' && hooks.state !== 'error') stop();
  else void start();
});
window.addEventListener('pagehide', () => run?.stop());

setState('idle');
if (options.autostart) void start();
