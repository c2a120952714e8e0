/**
 * `npm run bench:quality -- [--clips a,b (names, or kinds: moving, static, multi)] [--variants v1,v2 (or v1;v2)] [--json out.json] [--no-vtest] [--backend ort-cpu|wasm|…]
 *   [--head models/other-fusion.json] [--roi-options '{"refreshFrames":0}']`
 * [--candidate "attention-fine meet + roi"] (the variant the acceptance checks judge; default: the server's default)
 * [--extra-variants '[{"name":"fine C16","base":"attention-fine meet + roi","temporal":{"fineMemoryClamp":16}}]']
 * (--head: the learned head the attention-learned variants load; --roi-options: overrides of
 * DEFAULT_ROI for the "+ roi" variants; --extra-variants: tuning runs, each a listed variant with
 * temporal settings overridden, run after the --variants)
 *
 * The quality benchmark: every variant (model × temporal stage, plus the two-scale option)
 * over the evaluation clips with exact ground truth (src/quality/clips: composites of real
 * people on real photos, motion that breaks per-frame models, VP8 round trip), through the
 * same code path as the live server (I420 → model-size RGB → backbone → temporal stage → mask),
 * masks resized to 640×480 and scored with J, F, TE and dtSSD; the multi-person clips (kind
 * 'multi') also per person (per-person recall, longest miss run, frames until an entering person
 * is found: ./qualityMulti.ts) and are kept out of the moving/static summaries. Plus one real video without
 * ground truth (opencv-doc's vtest.avi): stability as the share of pixels whose label flips
 * between consecutive frames (TE against the model's own previous frame).
 * Prints Markdown tables (summary, per clip, acceptance checks) and writes JSON.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SegmentationEngine } from '../inference/engine.js';
import { DEFAULT_ROI, type RoiOptions } from '../roi/roiTracker.js';
import { BACKENDS, type BackendName, type ModelName, type SegmentResult } from '../inference/types.js';
import { type TemporalConfig } from '../temporal/temporalConfig.js';
import type { TemporalStage } from '../temporal/temporalStage.js';
import { OfflineSegmenter } from '../cli/segment.js';
import { openY4m } from '../io/y4m.js';
import { areaDownsample, resizeMaskBilinear } from '../shared/maskResize.js';
import { buildClip, sourcesAvailable } from '../quality/clips/build.js';
import { evalClipDefinitions } from '../quality/clips/catalog.js';
import type { QualityClip } from '../quality/clips/types.js';
import { PeopleEvaluator, SequenceEvaluator, selfTE, truthPixels, VISIBLE_MIN_SHARE, type PeopleMetrics } from '../quality/metrics.js';
import { multiAcceptance, multiPerClip, multiPerPerson, multiSummary } from './qualityMulti.js';
import { projectRoot } from '../paths.js';
import { segmentTwoScales } from './multiScale.js';
import { compareFootage } from './realFootage.js';
import { encodeMask } from '../shared/maskCodec.js';
import { TruthMemoryStage, type BoundKind } from './bounds.js';
import { fmt, percentile } from './stats.js';

export interface Variant {
  readonly name: string;
  readonly model: ModelName;
  readonly temporal: TemporalConfig;
  readonly twoScales?: boolean;
  /** Segment on the region of interest (src/roi, DEFAULT_ROI). */
  readonly roi?: boolean;
  /** With roi: fields of DEFAULT_ROI this variant changes (after --roi-options). */
  readonly roiOptions?: Partial<RoiOptions>;
  /** An analysis bound (./bounds.ts): the stage's memory is the truth, not its own masks. */
  readonly bound?: BoundKind;
}

/** The region of interest without the second model (the "+ roi" variants measured before it existed). */
const NO_SECOND: Partial<RoiOptions> = { secondModel: 'none' };

export const VARIANTS: readonly Variant[] = [
  { name: 'per-frame meet', model: 'meet', temporal: { mode: 'none', ringSize: 1 } },
  { name: 'per-frame selfie', model: 'selfie', temporal: { mode: 'none', ringSize: 1 } },
  { name: 'two-scale meet', model: 'meet', temporal: { mode: 'none', ringSize: 1 }, twoScales: true },
  { name: 'ema meet', model: 'meet', temporal: { mode: 'ema', ringSize: 1 } },
  { name: 'attention meet', model: 'meet', temporal: { mode: 'attention', ringSize: 4 } },
  { name: 'attention meet N=2', model: 'meet', temporal: { mode: 'attention', ringSize: 2 } },
  { name: 'attention meet N=8', model: 'meet', temporal: { mode: 'attention', ringSize: 8 } },
  { name: 'attention-learned meet', model: 'meet', temporal: { mode: 'attention-learned', ringSize: 4 } },
  { name: 'per-frame meet + roi', model: 'meet', temporal: { mode: 'none', ringSize: 1 }, roi: true, roiOptions: NO_SECOND },
  { name: 'ema meet + roi', model: 'meet', temporal: { mode: 'ema', ringSize: 1 }, roi: true, roiOptions: NO_SECOND },
  { name: 'attention meet + roi', model: 'meet', temporal: { mode: 'attention', ringSize: 4 }, roi: true, roiOptions: NO_SECOND },
  { name: 'attention-learned meet + roi', model: 'meet', temporal: { mode: 'attention-learned', ringSize: 4 }, roi: true, roiOptions: NO_SECOND },
  { name: 'attention-fine meet', model: 'meet', temporal: { mode: 'attention-fine', ringSize: 1 } },
  { name: 'attention-fine meet + roi', model: 'meet', temporal: { mode: 'attention-fine', ringSize: 1 }, roi: true },
  { name: 'attention-fine meet + roi, no hysteresis', model: 'meet', temporal: { mode: 'attention-fine', ringSize: 1, fineHysteresis: 0 }, roi: true, roiOptions: NO_SECOND },
  { name: 'attention-fine meet + roi, logit memory', model: 'meet', temporal: { mode: 'attention-fine', ringSize: 1, fineMemoryClamp: 16 }, roi: true, roiOptions: NO_SECOND },
  // The default without selfie's second opinion on doubts (RoiOptions.secondModel; the other "+ roi" variants also run without it).
  { name: 'attention-fine meet + roi, meet alone', model: 'meet', temporal: { mode: 'attention-fine', ringSize: 1 }, roi: true, roiOptions: NO_SECOND },
  // The other model on crops (it is made for close-ups: better on some clips, far worse on others).
  { name: 'attention-fine selfie + roi', model: 'selfie', temporal: { mode: 'attention-fine', ringSize: 1 }, roi: true, roiOptions: NO_SECOND },
  // Bounds, not candidates: the default read with the truth at t − 1 as its memory.
  { name: '(bound) attention-fine meet + roi with the truth as memory', model: 'meet', temporal: { mode: 'attention-fine', ringSize: 1 }, roi: true, bound: 'truth-memory' },
  { name: '(bound) truth at t − 1 moved by the read alone', model: 'meet', temporal: { mode: 'attention-fine', ringSize: 1 }, roi: true, bound: 'truth-moved' },
];

interface ClipResult {
  readonly clip: string;
  readonly kind: string;
  readonly J: number;
  readonly F: number;
  readonly TE: number;
  readonly dtSSD: number;
  /** Mean ms per frame: backbone (normalise + model) and temporal stage. */
  readonly backboneMs: number;
  readonly temporalMs: number;
  /** TE within EDGE_SPLIT_PX of a truth edge / elsewhere (only for per-frame meet and the candidate). */
  readonly TEnearEdge?: number;
  readonly TEfar?: number;
  /** Multi-person clips: per-person recall, miss runs, entering latency. */
  readonly people?: PeopleMetrics;
}

/** Distance to the truth's edges under which a flip counts as "near an edge" in the TE split, px of 640×480. */
const EDGE_SPLIT_PX = 6;

interface VariantResult {
  readonly variant: Variant;
  readonly clips: ClipResult[];
  /** Share of pixels flipping per frame on vtest.avi (no ground truth). */
  readonly vtestFlips?: number;
  readonly temporalBytesPerSession: number;
  /** Per-frame times over every clip (not the two-scale variant's temporal): median and p95, ms. */
  readonly backboneMedianMs: number;
  readonly temporalMedianMs: number;
  readonly temporalP95Ms: number;
  /** Region of interest (uncrop + next box) and preprocess (crop + I420 → RGB), medians, ms. */
  readonly roiMedianMs: number;
  readonly preprocessMedianMs: number;
  /** Temporal stage + region of interest per frame, median, ms. */
  readonly temporalRoiMedianMs: number;
  /** Share of frames segmented on a crop (region of interest variants). */
  readonly croppedShare?: number;
  /** Mean size of the mask message the client would get per frame (version 1, or 2 with detail layers), bytes. */
  readonly maskBytesMean?: number;
  /** The masks of vtest.avi (the real-footage comparison; left out of the JSON). */
  readonly vtestMasks?: Uint8Array[];
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** DEFAULT_ROI, with fields overridden by --roi-options '{"hold":0.8}' (for tuning runs). */
function roiOptions(): RoiOptions {
  const raw = arg('roi-options');
  return raw ? { ...DEFAULT_ROI, ...(JSON.parse(raw) as Partial<RoiOptions>) } : DEFAULT_ROI;
}

const log = (m: string) => process.stderr.write(`bench:quality: ${m}\n`);

/** What runs the backbone: --backend, default the server's default (ONNX Runtime on this CPU). */
function backendArg(): 'auto' | BackendName {
  const b = arg('backend') ?? 'ort-cpu';
  if (b !== 'auto' && !(BACKENDS as readonly string[]).includes(b)) throw new Error(`--backend must be auto or one of ${BACKENDS.join(', ')}`);
  return b as 'auto' | BackendName;
}

async function runVariant(v: Variant, clips: readonly QualityClip[], vtest: string | undefined, splitTE = false): Promise<VariantResult> {
  let bound: TruthMemoryStage | undefined;
  const engine = await SegmentationEngine.create({
    model: v.model, backend: backendArg(), temporal: v.temporal, roi: v.roi ? { ...roiOptions(), ...v.roiOptions } : false,
    ...(v.bound ? { wrapStage: (s: TemporalStage) => (bound = new TruthMemoryStage(s, v.bound!)) } : {}),
  });
  const results: ClipResult[] = [];
  let temporalBytes = 0;
  const bbAll: number[] = [];
  const tmAll: number[] = [];
  const roiAll: number[] = [];
  const tmRoiAll: number[] = [];
  const preAll: number[] = [];
  let cropped = 0;
  let whole = 0;
  const bytesAll: number[] = [];
  try {
    for (const clip of clips) {
      const ev = new SequenceEvaluator(clip.width, clip.height, splitTE ? { edgeSplitPx: EDGE_SPLIT_PX } : {});
      const pe = clip.people ? new PeopleEvaluator(clip.width, clip.height, clip.people) : undefined;
      let bb = 0;
      let tm = 0;
      if (v.twoScales) {
        engine.openSession('full');
        engine.openSession('zoom');
        for (let i = 0; i < clip.frames.length; i++) {
          const t0 = performance.now();
          const { mask } = segmentTwoScales(engine, 'full', 'zoom', clip.frames[i]!);
          bb += performance.now() - t0;
          const full = resizeMaskBilinear(mask, engine.info.maskWidth, engine.info.maskHeight, clip.width, clip.height);
          ev.add(full, clip.gt[i]!);
          pe?.add(full);
        }
        engine.closeSession('full');
        engine.closeSession('zoom');
      } else {
        const seg = OfflineSegmenter.withEngine(engine, `clip-${clip.name}`);
        for (let i = 0; i < clip.frames.length; i++) {
          if (bound) bound.truth = areaDownsample(clip.gt[i]!, clip.width, clip.height, engine.info.maskWidth, engine.info.maskHeight);
          const m = seg.process(clip.frames[i]!);
          bb += seg.lastTimings!.inferenceMs;
          tm += seg.lastTimings!.temporalMs;
          bbAll.push(seg.lastTimings!.inferenceMs);
          tmAll.push(seg.lastTimings!.temporalMs);
          roiAll.push(seg.lastTimings!.roiMs);
          tmRoiAll.push(seg.lastTimings!.temporalMs + seg.lastTimings!.roiMs);
          preAll.push(seg.lastTimings!.preprocessMs);
          ev.add(m, clip.gt[i]!);
          pe?.add(m);
          bytesAll.push(messageBytes(seg.lastResult!, clip.width, clip.height));
          if (i === 0) temporalBytes = engine.memory().temporalBytes;
        }
        const counts = seg.roiCounts;
        if (counts) {
          cropped += counts.cropped;
          whole += counts.whole;
        }
        seg.close();
      }
      const r = ev.result();
      const n = clip.frames.length;
      const people = pe?.result();
      results.push({ clip: clip.name, kind: clip.kind, J: r.J, F: r.F, TE: r.TE, dtSSD: r.dtSSD, backboneMs: bb / n, temporalMs: tm / n, ...(r.TEnearEdge !== undefined ? { TEnearEdge: r.TEnearEdge, TEfar: r.TEfar } : {}), ...(people ? { people } : {}) });
      log(`${v.name} · ${clip.name}: J ${r.J.toFixed(4)} TE ${(100 * r.TE).toFixed(3)} %${people ? ` per-person recall ${people.recall.toFixed(3)}, longest miss ${people.longestMiss}` : ''}`);
    }
    let vtestFlips: number | undefined;
    const vtestMasks: Uint8Array[] = [];
    if (vtest && !v.twoScales && !v.bound) {
      const seg = OfflineSegmenter.withEngine(engine, 'vtest');
      const reader = await openY4m(vtest);
      for await (const pic of reader.frames()) vtestMasks.push(seg.process(pic));
      await reader.close();
      seg.close();
      vtestFlips = selfTE(vtestMasks);
    }
    const q = (a: number[], p: number) => (a.length ? percentile(a, p) : 0);
    return {
      variant: v,
      clips: results,
      temporalBytesPerSession: temporalBytes,
      backboneMedianMs: q(bbAll, 50),
      temporalMedianMs: q(tmAll, 50),
      temporalP95Ms: q(tmAll, 95),
      roiMedianMs: q(roiAll, 50),
      temporalRoiMedianMs: q(tmRoiAll, 50),
      preprocessMedianMs: q(preAll, 50),
      ...(cropped + whole > 0 ? { croppedShare: cropped / (cropped + whole) } : {}),
      ...(vtestFlips !== undefined ? { vtestFlips } : {}),
      ...(bytesAll.length ? { maskBytesMean: bytesAll.reduce((a, b) => a + b, 0) / bytesAll.length } : {}),
      ...(vtestMasks.length ? { vtestMasks } : {}),
    };
  } finally {
    engine.close();
  }
}

/** opencv-doc's vtest.avi (768×576 pedestrians) as a 640×480 y4m in the cache, via ffmpeg. */
function vtestY4m(): string | undefined {
  const src = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';
  if (!existsSync(src)) {
    log(`notice: ${src} missing (apt-get install opencv-doc): no real-video stability row`);
    return undefined;
  }
  const dir = path.join(projectRoot(), '.cache', 'quality');
  mkdirSync(dir, { recursive: true });
  const out = path.join(dir, 'vtest-640x480-150.y4m');
  if (existsSync(out)) return out;
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', src, '-vf', 'scale=640:480', '-frames:v', '150', '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', out]);
  if (r.status !== 0) {
    log(`notice: ffmpeg could not convert vtest.avi (${r.stderr?.toString().trim()}): no real-video stability row`);
    return undefined;
  }
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

function summary(results: readonly VariantResult[]): string[] {
  const lines = [
    '| variant | moving J | moving F | moving TE % | moving dtSSD | static J | static TE % | held-out clip J / TE % | vtest flips % | preprocess ms median | backbone ms median | temporal ms median / p95 | roi ms median (crops) | memory / session | mask message bytes / frame |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    const mov = r.clips.filter((c) => c.kind === 'moving');
    const sta = r.clips.filter((c) => c.kind === 'static');
    const held = r.clips.find((c) => c.clip === 'skimage-independent');
    lines.push(`| ${r.variant.name} | ${fmt(mean(mov.map((c) => c.J)), 4)} | ${fmt(mean(mov.map((c) => c.F)), 4)} | ${fmt(100 * mean(mov.map((c) => c.TE)), 3)} | ${fmt(mean(mov.map((c) => c.dtSSD)), 2)} | ${fmt(mean(sta.map((c) => c.J)), 4)} | ${fmt(100 * mean(sta.map((c) => c.TE)), 3)} | ${held ? `${fmt(held.J, 4)} / ${fmt(100 * held.TE, 3)}` : '–'} | ${r.vtestFlips !== undefined ? fmt(100 * r.vtestFlips, 3) : '–'} | ${r.variant.twoScales ? '–' : fmt(r.preprocessMedianMs, 2)} | ${fmt(r.backboneMedianMs || mean(r.clips.map((c) => c.backboneMs)), 1)} | ${r.variant.twoScales ? '–' : `${fmt(r.temporalMedianMs, 2)} / ${fmt(r.temporalP95Ms, 2)}`} | ${r.variant.roi ? `${fmt(r.roiMedianMs, 2)} (${fmt(100 * (r.croppedShare ?? 0), 0)} %)` : '–'} | ${r.temporalBytesPerSession ? `${(r.temporalBytesPerSession / 1024).toFixed(0)} KiB` : '0'} | ${r.maskBytesMean !== undefined ? fmt(r.maskBytesMean, 0) : '–'} |`);
  }
  return lines;
}

/** The mask message a session would send for this result (detail layers included), bytes. */
function messageBytes(r: SegmentResult, pictureWidth: number, pictureHeight: number): number {
  const timings = { receiveMs: 0, decodeMs: 0, preprocessMs: 0, inferenceMs: 0, temporalMs: 0, encodeMs: 0, serverMs: 0 };
  return encodeMask({ seq: 0, rtpTimestamp: 0, width: r.width, height: r.height, alpha: r.mask, serverSendTime: 0, timings, droppedFrames: 0, ...(r.details?.length ? { details: r.details, pictureWidth, pictureHeight } : {}) }).length;
}

/**
 * Real footage (vtest.avi, no truth): each region-of-interest variant against the same model and
 * temporal stage on the whole picture (src/bench/realFootage.ts).
 */
function realFootage(results: readonly VariantResult[]): string[] {
  const rows: string[] = [];
  for (const r of results) {
    if (!r.variant.roi || !r.vtestMasks) continue;
    const ref = results.find((x) => !x.variant.roi && !x.variant.twoScales && !x.variant.bound && x.variant.model === r.variant.model && JSON.stringify(x.variant.temporal) === JSON.stringify(r.variant.temporal) && x.vtestMasks);
    if (!ref) continue;
    const c = compareFootage(r.vtestMasks, ref.vtestMasks!, 640, 480);
    rows.push(`| ${r.variant.name} vs ${ref.variant.name} | ${fmt(100 * c.candidateArea, 2)} / ${fmt(100 * c.referenceArea, 2)} | ${fmt(c.areaRatio, 3)} | ${fmt(c.referenceCovered, 3)} | ${fmt(c.peopleKept, 3)} (${c.referencePeople}) | ${c.emptyFrames} |`);
  }
  if (!rows.length) return [];
  return [
    'Real footage (opencv-doc vtest.avi, 150 frames at 640×480, no truth): a region-of-interest variant against the same model and temporal stage on the whole picture. Area: mean share of the picture marked person. Covered: share of the whole-picture variant\'s person pixels within 8 px of one of this variant\'s. People kept: regions of ≥ 60 px the whole-picture variant marks (people, and its false positives) that this variant also marks (within 8 px). Empty frames: the whole-picture variant finds someone, this one nobody.',
    '',
    '| variant | area % (this / whole picture) | area ratio | whole-picture pixels covered | people kept (regions) | empty frames |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows,
  ];
}

function perClip(results: readonly VariantResult[]): string[] {
  const names = results[0]?.clips.filter((c) => c.kind !== 'multi').map((c) => c.clip) ?? [];
  const lines = [
    `| clip | ${results.map((r) => r.variant.name).join(' | ')} |`,
    `|---|${results.map(() => '---:').join('|')}|`,
  ];
  for (const n of names) {
    const cells = results.map((r) => {
      const c = r.clips.find((x) => x.clip === n)!;
      return `${fmt(c.J, 3)} / ${fmt(100 * c.TE, 2)} / ${fmt(c.dtSSD, 1)}`;
    });
    const kind = results[0]!.clips.find((x) => x.clip === n)!.kind;
    lines.push(`| ${n} (${kind}) | ${cells.join(' | ')} |`);
  }
  return lines;
}

/** The issue's acceptance figures for `candidate` against per-frame and EMA (same model), plus what the temporal read adds on top of the region of interest. */
function acceptance(results: readonly VariantResult[], candidate: string): string[] {
  const get = (name: string) => results.find((r) => r.variant.name === name);
  const cand = get(candidate);
  const base = get('per-frame meet');
  const ema = get('ema meet');
  const emaRoi = get('ema meet + roi');
  const roiOnly = get('per-frame meet + roi');
  if (!cand || !base) return [`(acceptance: needs "${candidate}" and "per-frame meet")`];
  const pick = (r: VariantResult, kind: 'moving' | 'static') => r.clips.filter((c) => c.kind === kind);
  const mJ = (r: VariantResult, kind: 'moving' | 'static' = 'moving') => mean(pick(r, kind).map((c) => c.J));
  const mTE = (r: VariantResult) => mean(pick(r, 'moving').map((c) => c.TE));
  const dJ = mJ(cand) - mJ(base);
  const teRatio = mTE(cand) / mTE(base);
  const dDt = mean(pick(cand, 'moving').map((c) => c.dtSSD)) - mean(pick(base, 'moving').map((c) => c.dtSSD));
  const dJs = mJ(cand, 'static') - mJ(base, 'static');
  // Paired: the candidate's own frames, backbone and temporal stage timed back to back, so a
  // machine that is slower in one variant's run than in another's does not move the ratio;
  // medians, so a GC pause or a JIT compile does not either. The ratio of means against the
  // per-frame run is printed too.
  const costRatio = cand.temporalMedianMs / cand.backboneMedianMs;
  const costRoiRatio = cand.temporalRoiMedianMs / cand.backboneMedianMs;
  const meanRatio = mean(cand.clips.map((c) => c.temporalMs)) / mean(base.clips.map((c) => c.backboneMs));
  const losers = (other: VariantResult) => pick(cand, 'moving').filter((c) => !(c.J > other.clips.find((e) => e.clip === c.clip)!.J)).map((c) => c.clip);
  const emaLosers = ema ? losers(ema) : [];
  const ok = (b: boolean) => (b ? 'met' : 'NOT met');
  const sign = (x: number, d: number) => `${x >= 0 ? '+' : ''}${x.toFixed(d)}`;
  const rows = [
    `| check (${candidate} vs per-frame meet) | target | measured | |`,
    '|---|---|---:|---|',
    `| moving clips: mean J gain | ≥ +0.02 | ${sign(dJ, 4)} | ${ok(dJ >= 0.02)} |`,
    `| moving clips: TE ratio | ≤ 0.5 | ${teRatio.toFixed(3)} | ${ok(teRatio <= 0.5)} |`,
    `| moving clips: dtSSD change | < 0 | ${sign(dDt, 3)} | ${ok(dDt < 0)} |`,
    `| static clips: J change | ≥ −0.005 | ${sign(dJs, 4)} | ${ok(dJs >= -0.005)} |`,
    `| beats EMA (ema meet) on J on every moving clip | all | ${ema ? (emaLosers.length ? `not on ${emaLosers.join(', ')}` : 'all') : '–'} | ${ema ? ok(emaLosers.length === 0) : ''} |`,
    `| temporal stage cost / backbone cost (medians per frame, same run; ratio of means vs the per-frame run: ${meanRatio.toFixed(3)}) | ≤ 0.25 | ${costRatio.toFixed(3)} | ${ok(costRatio <= 0.25)} |`,
  ];
  if (cand.variant.roi) rows.push(`| temporal stage + region of interest (uncrop, next box) / backbone (medians per frame) | ≤ 0.25 | ${costRoiRatio.toFixed(3)} | ${ok(costRoiRatio <= 0.25)} |`);
  if (cand.variant.roi && emaRoi) {
    const l = losers(emaRoi);
    rows.push(`| (same crops) beats EMA with the region of interest (ema meet + roi) on every moving clip | all | ${l.length ? `not on ${l.join(', ')}` : 'all'} | ${ok(l.length === 0)} |`);
  }
  if (cand.variant.roi && roiOnly) {
    rows.push(`| (ablation) what the temporal read adds to the region of interest: vs per-frame meet + roi, moving J / TE ratio / static J | – | ${sign(mJ(cand) - mJ(roiOnly), 4)} / ${(mTE(cand) / mTE(roiOnly)).toFixed(3)} / ${sign(mJ(cand, 'static') - mJ(roiOnly, 'static'), 4)} | |`);
  }
  return rows;
}

/**
 * The reference row of the TE split: the truth itself at the mask's resolution (area-downsampled
 * to maskW × maskH, upsampled back like a mask), so the table shows what the mask grid alone costs.
 */
function truthAtMaskResolution(clips: readonly QualityClip[], maskW: number, maskH: number): { J: number; TE: number; near: number; far: number } {
  const mov = clips.filter((c) => c.kind === 'moving');
  let J = 0, TE = 0, near = 0, far = 0;
  for (const clip of mov) {
    const ev = new SequenceEvaluator(clip.width, clip.height, { edgeSplitPx: EDGE_SPLIT_PX });
    for (const g of clip.gt) ev.add(resizeMaskBilinear(areaDownsample(g, clip.width, clip.height, maskW, maskH), maskW, maskH, clip.width, clip.height), g);
    const r = ev.result();
    J += r.J;
    TE += r.TE;
    near += r.TEnearEdge!;
    far += r.TEfar!;
  }
  const n = Math.max(1, mov.length);
  return { J: J / n, TE: TE / n, near: near / n, far: far / n };
}

/** Where the temporal error is, for the variants evaluated with the split: near the truth's moving edges, or elsewhere. */
function teSplit(results: readonly VariantResult[], clips: readonly QualityClip[]): string[] {
  const rows = results.filter((r) => r.clips.some((c) => c.TEnearEdge !== undefined));
  if (!rows.length) return [];
  const ref = truthAtMaskResolution(clips, 256, 144);
  return [
    `TE on the moving clips split by distance to the truth's edges (within ${EDGE_SPLIT_PX} px of an edge at t or t − 1: the edge of a moving person landing a few pixels differently from the truth; elsewhere: regions that appear and vanish):`,
    '',
    '| variant | TE % | near an edge | elsewhere |',
    '|---|---:|---:|---:|',
    ...rows.map((r) => {
      const mov = r.clips.filter((c) => c.kind === 'moving');
      return `| ${r.variant.name} | ${fmt(100 * mean(mov.map((c) => c.TE)), 3)} | ${fmt(100 * mean(mov.map((c) => c.TEnearEdge ?? 0)), 3)} | ${fmt(100 * mean(mov.map((c) => c.TEfar ?? 0)), 3)} |`;
    }),
    `| (reference) the truth at the mask's 256×144, upsampled back: J ${fmt(ref.J, 4)} | ${fmt(100 * ref.TE, 3)} | ${fmt(100 * ref.near, 3)} | ${fmt(100 * ref.far, 3)} |`,
    '',
    '(bound) rows (src/bench/bounds.ts): the stage is given the truth at t − 1 (mask resolution) as its memory instead of its own mask. "truth as memory" = the default read and fusion with a perfect memory; "moved by the read alone" = the read without the current frame: each frame is the truth at t − 1 carried to t by the matcher, so its TE is what the motion estimate alone costs at moving edges.',
  ];
}

async function main(): Promise<void> {
  const want = arg('clips')?.split(',');
  // Names are split on ';' when there is one (some names contain commas), else on ','.
  const wantVariants = arg('variants')?.split(arg('variants')!.includes(';') ? ';' : ',');
  const headPath = arg('head');
  const extra = (JSON.parse(arg('extra-variants') ?? '[]') as { name: string; base: string; temporal: Partial<TemporalConfig> }[]).map((e) => {
    const base = VARIANTS.find((v) => v.name === e.base);
    if (!base) throw new Error(`--extra-variants: no variant "${e.base}" to start from`);
    return { ...base, name: e.name, temporal: { ...base.temporal, ...e.temporal } };
  });
  const variants = [...(wantVariants ? VARIANTS.filter((v) => wantVariants.includes(v.name)) : VARIANTS), ...extra]
    .map((v) => (headPath && v.temporal.mode === 'attention-learned' ? { ...v, temporal: { ...v.temporal, headPath: path.resolve(headPath) } } : v));
  // --clips takes clip names and kinds (moving, static, multi: every clip of that kind).
  const known = evalClipDefinitions();
  const unknown = (want ?? []).filter((w) => !known.some((d) => d.name === w || d.kind === w));
  if (unknown.length) throw new Error(`--clips: unknown clip(s) ${unknown.join(', ')}; known: ${known.map((d) => d.name).join(', ')} (or a kind: moving, static, multi)`);
  const defs = known.filter((d) => (!want || want.includes(d.name) || want.includes(d.kind)) && (!d.optional || sourcesAvailable(d)));
  for (const d of evalClipDefinitions()) if (d.optional && !sourcesAvailable(d)) log(`notice: skipping ${d.name} (apt-get install python3-skimage)`);
  const t0 = performance.now();
  const clips: QualityClip[] = [];
  for (const d of defs) clips.push(await buildClip(d, { log }));
  log(`${clips.length} clips ready in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const vtest = process.argv.includes('--no-vtest') ? undefined : vtestY4m();
  const results: VariantResult[] = [];
  const cand = arg('candidate') ?? 'attention-fine meet + roi';
  for (const v of variants) results.push(await runVariant(v, clips, vtest, v.name === cand || v.name === 'per-frame meet' || v.bound !== undefined));
  const single = clips.some((c) => c.kind !== 'multi');
  const multi = clips.some((c) => c.kind === 'multi');
  const out = [
    `maskstream quality benchmark: ${clips.length} clips × ${clips[0]?.frames.length ?? 0} frames at ${clips[0]?.width}×${clips[0]?.height}, VP8 round trip before segmentation, backend ${backendArg()}; ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`,
    '',
    ...(single ? singleReport(results, clips, cand) : []),
    ...(multi ? multiReport(results, clips, cand) : []),
    ...realFootage(results),
    '',
    `Elapsed ${((performance.now() - t0) / 1000).toFixed(0)} s. Reproduce: npm run bench:quality`,
  ];
  console.log(out.join('\n'));
  const json = arg('json') ?? path.join(projectRoot(), 'artifacts', 'bench-quality.json');
  mkdirSync(path.dirname(json), { recursive: true });
  writeFileSync(json, JSON.stringify({ date: new Date().toISOString(), machine: `${os.cpus().length} × ${os.cpus()[0]?.model}`, results: results.map(({ vtestMasks: _masks, ...r }) => r) }, null, 1));
  log(`JSON: ${json}`);
}

/** The single-person sections (clips of kind moving and static). */
function singleReport(results: readonly VariantResult[], clips: readonly QualityClip[], cand: string): string[] {
  return [
    'Summary (moving = the clips of kind "moving", static = near-static; TE = share of pixels whose predicted label flips while the truth does not; costs are ms per frame on the backend above, median (and p95) over every frame of every clip):',
    '',
    ...summary(results),
    '',
    'Per clip: J / TE % / dtSSD',
    '',
    ...perClip(results),
    '',
    ...acceptance(results, cand),
    '',
    ...teSplit(results, clips),
    '',
  ];
}

/** Median over the frames where a person is visible of their truth pixels, per "clip/person". */
function medianVisiblePx(clips: readonly QualityClip[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of clips) {
    for (const p of c.people ?? []) {
      const px = p.alpha.map(truthPixels).filter((n) => n >= VISIBLE_MIN_SHARE * c.width * c.height).sort((a, b) => a - b);
      if (px.length) out.set(`${c.name}/${p.name}`, px[px.length >> 1]!);
    }
  }
  return out;
}

/** The listed variant that is `name` on the whole picture (what `--roi off` gives), if there is one. */
function withoutRoi(name: string): string | undefined {
  const c = VARIANTS.find((v) => v.name === name);
  if (!c?.roi) return undefined;
  return VARIANTS.find((v) => !v.roi && !v.bound && !v.twoScales && v.model === c.model && JSON.stringify(v.temporal) === JSON.stringify(c.temporal))?.name;
}

/** The multi-person sections (clips of kind multi): summary, per clip, per person, acceptance. */
function multiReport(results: readonly VariantResult[], clips: readonly QualityClip[], cand: string): string[] {
  return [
    `Multi-person clips (kind "multi": ${clips.filter((c) => c.kind === 'multi').map((c) => c.name).join(', ')}). Per person and frame: visible = truth pixels (their visible coverage ≥ 128) ≥ ${100 * VISIBLE_MIN_SHARE} % of the frame; found = at least half of them masked. Recall = found / visible person-frames over every person of every clip; longest miss run = most visible frames in a row a person is not found (max over people); entering person found after = frames from becoming fully visible (95 % of their largest in-picture share, and visible) to the first frame found ("never": not found after it). J, F, TE of the combined mask, means over the clips.`,
    '',
    ...multiSummary(results),
    '',
    'Per clip: per-person recall / J / longest miss run (frames) [/ entering person found after (frames)]',
    '',
    ...multiPerClip(results),
    '',
    'Per person: recall / longest miss run (frames; in brackets, counting only frames with at least half of the person inside the picture, where that differs)',
    '',
    ...multiPerPerson(results, medianVisiblePx(clips)),
    '',
    ...multiAcceptance(results, cand, withoutRoi(cand) ?? 'attention-fine meet'),
    '',
  ];
}

main().catch((e: Error) => {
  console.error(`bench:quality: ${e.stack ?? e.message}`);
  process.exit(1);
});
