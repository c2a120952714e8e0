/**
 * `maskstream segment`: a .y4m clip → one 8-bit grayscale PNG mask per frame, through exactly
 * the live server's per-frame path (I420 → model-size RGB → backbone → temporal stage →
 * 8-bit mask) on one in-process engine session, so temporal state carries across frames as it
 * does for a live peer. Masks are stretched back to the clip's size with bilinear filtering.
 *
 * OfflineSegmenter is that per-frame path without files (the quality benchmark uses it);
 * segmentY4m adds the Y4M reader and PNG writer; runSegment is the command line.
 */
import { access, constants as fsConstants, lstat, mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULTS, describeConfig, loadConfig, roiOptionsOf } from '../config.js';
import type { RoiOptions } from '../roi/roiTracker.js';
import type { I420Picture } from '../decode/types.js';
import { SegmentationEngine } from '../inference/engine.js';
import { type BackendName, type EngineInfo, type ModelName, type SegmentResult } from '../inference/types.js';
import { TEMPORAL_MODES, type TemporalConfig, type TemporalMode } from '../temporal/temporalConfig.js';
import { composeMask } from '../shared/maskCompose.js';
import { openY4m, Y4mFormatError } from '../io/y4m.js';
import { writeGrayPng } from '../io/png.js';
import { formatHelp, parseFlags, positiveIntFlag, UsageError, type FlagSpec } from './flags.js';

/** Times of the last frame through OfflineSegmenter.process, ms. */
export interface FrameTimings {
  /** I420 → model-size RGB. */
  readonly preprocessMs: number;
  /** Normalise + backbone (engine). */
  readonly inferenceMs: number;
  /** Temporal stage + sigmoid × 255 (engine). */
  readonly temporalMs: number;
  /** Region of interest: crop output back on the picture + next box (engine; 0 when off). */
  readonly roiMs: number;
  /** Mask → picture size. */
  readonly resizeMs: number;
  /** All of the above. */
  readonly totalMs: number;
}

export interface OfflineSegmenterOptions {
  readonly model: ModelName;
  readonly backend: 'auto' | BackendName;
  readonly temporal: TemporalConfig;
  /** Region of interest (EngineOptions.roi); default off. */
  readonly roi?: RoiOptions | false;
  /** Weights folder; default <project>/models. */
  readonly modelsDir?: string;
}

const SESSION_ID = 'offline';

/** Frames → full-size masks on one engine session. Not thread-safe; one clip per instance. */
export class OfflineSegmenter {
  /** The engine's result for the most recent frame (detail layers, views), or null. */
  lastResult: SegmentResult | null = null;
  private closed = false;
  private frameCount = 0;
  private sumMs = 0;
  private last: FrameTimings | null = null;

  private constructor(
    private readonly engine: SegmentationEngine,
    private readonly ownsEngine: boolean,
    private readonly sessionId: string,
  ) {
    engine.openSession(sessionId);
  }

  /** Loads the model on this thread; close() frees it. */
  static async create(o: OfflineSegmenterOptions): Promise<OfflineSegmenter> {
    const engine = await SegmentationEngine.create({ model: o.model, backend: o.backend, temporal: o.temporal, modelsDir: o.modelsDir, roi: o.roi });
    try {
      return new OfflineSegmenter(engine, true, SESSION_ID);
    } catch (e) {
      engine.close();
      throw e;
    }
  }

  /** Uses a session on an engine the caller owns (several clips, one model load); close() closes only the session. */
  static withEngine(engine: SegmentationEngine, sessionId = SESSION_ID): OfflineSegmenter {
    return new OfflineSegmenter(engine, false, sessionId);
  }

  /** Frames segmented on a crop / on the whole picture so far, or null without region of interest. */
  get roiCounts(): { cropped: number; whole: number } | null {
    return this.engine.roiCounts(this.sessionId);
  }

  get info(): EngineInfo {
    return this.engine.info;
  }

  /** Frames processed so far. */
  get frames(): number {
    return this.frameCount;
  }

  /** Mean time of process(), ms per frame (NaN before the first frame). */
  get meanMs(): number {
    return this.sumMs / this.frameCount;
  }

  /** Timings of the most recent frame, or null. */
  get lastTimings(): FrameTimings | null {
    return this.last;
  }

  /** The next frame of the clip → its mask at the picture's size (width × height bytes, probability × 255). */
  process(pic: I420Picture): Uint8Array {
    if (this.closed) throw new Error('the offline segmenter is closed');
    const t0 = performance.now();
    // The server's per-frame path: the engine's one entry for a decoded picture.
    const r = this.engine.segment(this.sessionId, pic);
    const t2 = performance.now();
    // What the client shows: the whole-picture mask with the crops' detail layers over it.
    const mask = composeMask({ width: r.width, height: r.height, alpha: r.mask, details: r.details ?? [] }, pic.width, pic.height);
    const t3 = performance.now();
    this.lastResult = r;
    this.last = { preprocessMs: r.preprocessMs ?? 0, inferenceMs: r.inferenceMs, temporalMs: r.temporalMs, roiMs: r.roiMs ?? 0, resizeMs: t3 - t2, totalMs: t3 - t0 };
    this.frameCount++;
    this.sumMs += t3 - t0;
    return mask;
  }

  /** Closes the session (and the engine if this instance created it). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.engine.closeSession(this.sessionId);
    if (this.ownsEngine) this.engine.close();
  }
}

/** Output file name of frame i: 000000.png, 000001.png, … */
export function maskFileName(i: number): string {
  return `${String(i).padStart(6, '0')}.png`;
}

export interface SegmentOptions extends OfflineSegmenterOptions {
  readonly input: string;
  /** Directory for the PNGs; created if missing. */
  readonly output: string;
  /** Stop after this many frames (default: all). */
  readonly limit?: number;
}

export interface SegmentSummary {
  readonly frames: number;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly model: ModelName;
  readonly backend: BackendName;
  /** What runs the backend (library and execution provider). */
  readonly provider: string;
  readonly temporal: TemporalMode;
  readonly ringSize: number;
  /** Mean OfflineSegmenter.process time (preprocess + model + resize), ms per frame. */
  readonly meanSegmentMs: number;
  /** Mean wall time per frame including Y4M reading and PNG writing, ms. */
  readonly meanTotalMs: number;
  /** Numbered PNGs in the output directory beyond this run's frames (left from an earlier, longer run). */
  readonly staleFiles: number;
}

export class SegmentInputError extends Error {
  override readonly name = 'SegmentInputError';
}

/** A file system error as a few words a user can act on. */
function reason(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT': return 'no such file or directory';
    case 'EACCES':
    case 'EPERM': return 'permission denied';
    case 'ENOTDIR': return 'a part of the path is not a directory';
    case 'EROFS': return 'read-only file system';
    case 'ENOSPC': return 'no space left on the device';
    default: return e.message;
  }
}

/**
 * The directories of `dir` that do not exist yet, outermost first, after checking that the
 * deepest existing one is a directory this process may write in. Fails in milliseconds, so a
 * bad --output is reported before the model loads.
 */
async function missingOutputDirs(dir: string): Promise<string[]> {
  const fail = (why: string) => new SegmentInputError(`cannot create --output directory ${dir}: ${why}`);
  const missing: string[] = [];
  for (let cur = path.resolve(dir); ; cur = path.dirname(cur)) {
    let isDir: boolean;
    try {
      isDir = (await stat(cur)).isDirectory();
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code !== 'ENOENT' || path.dirname(cur) === cur) throw fail(`${cur}: ${reason(err)}`);
      missing.unshift(cur);
      continue;
    }
    if (!isDir) throw fail(`${cur} exists and is not a directory`);
    if (missing.length > 0) await access(cur, fsConstants.W_OK | fsConstants.X_OK).catch((e: NodeJS.ErrnoException) => {
      throw fail(`${cur}: ${reason(e)}`);
    });
    return missing;
  }
}

/**
 * Creates `missing` one level at a time. Not `mkdir(…, { recursive: true })`: Node's recursive
 * mkdir loops forever where mkdir answers ENOENT under a parent that exists (/proc/x/y, some
 * FUSE and network mounts), which made `segment --output` hang instead of failing.
 */
async function createOutputDirs(dir: string, missing: readonly string[]): Promise<void> {
  for (const d of missing) {
    try {
      await mkdir(d);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EEXIST') {
        if (await stat(d).then((st) => st.isDirectory(), () => false)) continue; // made meanwhile
        const link = await lstat(d).then((st) => st.isSymbolicLink(), () => false);
        throw new SegmentInputError(`cannot create --output directory ${dir}: ${d} ${link ? 'is a link to something that does not exist' : 'exists and is not a directory'}`);
      }
      throw new SegmentInputError(`cannot create --output directory ${dir}: ${d}: ${reason(err)}`);
    }
  }
}

/** Segments every frame of a Y4M clip into numbered PNGs. */
export async function segmentY4m(o: SegmentOptions): Promise<SegmentSummary> {
  // The input and the output's place first: a wrong path fails in milliseconds, before the model loads.
  const reader = await openY4m(o.input).catch((e: NodeJS.ErrnoException) => {
    if (e instanceof Y4mFormatError) throw e;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'it is a directory' : e.message;
    throw new SegmentInputError(`cannot read --input ${o.input}: ${why}`);
  });
  try {
    const missing = await missingOutputDirs(o.output);
    const seg = await OfflineSegmenter.create(o);
    try {
      // After the engine loads, so a model or backend error leaves no empty directory behind.
      await createOutputDirs(o.output, missing);
      const tLoop = performance.now();
      const limit = o.limit ?? Infinity;
      let n = 0;
      while (n < limit) {
        const pic = await reader.readFrame();
        if (!pic) break;
        const mask = seg.process(pic);
        await writeGrayPng(path.join(o.output, maskFileName(n)), mask, pic.width, pic.height);
        n++;
      }
      if (n === 0) throw new Y4mFormatError(`${o.input} has no frames (only a header)`);
      const loopMs = performance.now() - tLoop;
      return {
        frames: n,
        width: reader.width,
        height: reader.height,
        fps: reader.fps,
        model: seg.info.model,
        backend: seg.info.backend,
        provider: seg.info.provider,
        temporal: o.temporal.mode,
        ringSize: o.temporal.ringSize,
        meanSegmentMs: seg.meanMs,
        meanTotalMs: loopMs / n,
        staleFiles: await countStale(o.output, n),
      };
    } finally {
      seg.close();
    }
  } finally {
    await reader.close();
  }
}

async function countStale(dir: string, frames: number): Promise<number> {
  const names = await readdir(dir);
  return names.filter((f) => /^\d{6,}\.png$/.test(f) && Number(f.slice(0, -4)) >= frames).length;
}

/** Config keys the segment command shares with `serve` (same flags, env variables and validation). */
const ENGINE_KEYS = ['model', 'backend', 'temporal', 'ringSize', 'roi', 'roiRefreshFrames'] as const;

const SEGMENT_FLAGS: readonly FlagSpec[] = [
  { name: 'input', kind: 'string', required: true, help: 'YUV4MPEG2 clip, 4:2:0 8-bit (ffmpeg -i in.mp4 -pix_fmt yuv420p out.y4m)' },
  { name: 'output', kind: 'string', required: true, help: 'directory for 000000.png, 000001.png, … (created if missing)' },
  { name: 'model', kind: 'string', help: 'meet (256×144) or selfie (256×256); default meet, env MASKSTREAM_MODEL' },
  { name: 'backend', kind: 'string', help: 'auto, ort-cpu, ort-webgpu, ort-cuda, tensorflow-gpu, tensorflow, wasm or cpu; default auto, env MASKSTREAM_BACKEND' },
  { name: 'temporal', kind: 'string', help: `temporal stage: ${TEMPORAL_MODES.join(', ')}; default ${DEFAULTS.temporal}, env MASKSTREAM_TEMPORAL` },
  { name: 'ring-size', kind: 'string', help: `frames in the feature ring buffer; default ${DEFAULTS.ringSize}, env MASKSTREAM_RING_SIZE` },
  { name: 'roi', kind: 'string', help: `on or off: segment on a crop around where the last mask found people; default ${DEFAULTS.roi}, env MASKSTREAM_ROI` },
  { name: 'roi-refresh-frames', kind: 'string', help: `with roi on, the whole picture every N frames (0 = only when nobody is tracked); default ${DEFAULTS.roiRefreshFrames}, env MASKSTREAM_ROI_REFRESH_FRAMES` },
  { name: 'limit', kind: 'string', help: 'segment at most this many frames' },
  { name: 'help', kind: 'boolean', help: 'print this help' },
];

export const SEGMENT_USAGE = 'maskstream segment --input clip.y4m --output dir/ [--model meet|selfie] [--backend auto|ort-cpu|wasm|…] [--temporal <mode>] [--ring-size N] [--roi on|off] [--limit N]';

/** Flags (and the MASKSTREAM_* variables of the engine settings) → options; null for --help. */
export function parseSegmentArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): SegmentOptions | null {
  const { values, booleans } = parseFlags('segment', argv, SEGMENT_FLAGS);
  if (booleans.has('help')) return null;
  // Validate model/backend/temporal/ring-size with the server's own config rules (so new
  // temporal modes work here unchanged); only these keys' variables are read from env.
  const rows = new Map(describeConfig().map((r) => [r.key, r]));
  const engineEnv: NodeJS.ProcessEnv = {};
  const engineArgv: string[] = [];
  for (const k of ENGINE_KEYS) {
    const row = rows.get(k)!;
    if (env[row.env] !== undefined) engineEnv[row.env] = env[row.env];
    const v = values.get(row.flag.slice(2));
    if (v !== undefined) engineArgv.push(row.flag, v);
  }
  const config = loadConfig({ env: engineEnv, argv: engineArgv });
  const limit = values.has('limit') ? positiveIntFlag('segment', 'limit', values.get('limit')!) : undefined;
  if (values.get('output')!.trim() === '') throw new UsageError('segment: --output must name a directory, got an empty value');
  return {
    input: values.get('input')!,
    output: values.get('output')!,
    model: config.model,
    backend: config.backend,
    temporal: { mode: config.temporal, ringSize: config.ringSize },
    roi: roiOptionsOf(config),
    limit,
  };
}

export interface CliIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

/** `maskstream segment …`: nothing on stdout except --help; the summary goes to stderr. */
export async function runSegment(argv: readonly string[], io: CliIo): Promise<void> {
  const o = parseSegmentArgs(argv, io.env);
  if (!o) {
    io.stdout(formatHelp(SEGMENT_USAGE, SEGMENT_FLAGS) + '\n');
    return;
  }
  const s = await segmentY4m(o);
  io.stderr(
    `maskstream segment: ${s.frames} frames ${s.width}×${s.height} → ${o.output} ` +
      `(model ${s.model}, backend ${s.backend}: ${s.provider}, temporal ${s.temporal}, ring ${s.ringSize}): ` +
      `${s.meanSegmentMs.toFixed(1)} ms/frame segmenting, ${s.meanTotalMs.toFixed(1)} ms/frame with IO\n`,
  );
  if (s.staleFiles > 0) io.stderr(`maskstream segment: warning: ${o.output} also holds ${s.staleFiles} numbered PNG(s) from an earlier, longer run; remove them before \`maskstream eval\`\n`);
}
