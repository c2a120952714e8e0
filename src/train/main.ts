#!/usr/bin/env node
/**
 * `npm run train -- [--seed 1234] [--clips 36] [--frames 60] [--epochs 3] [--hidden 16]
 *   [--lambda 4] [--gate-pool 8] [--pool-step 2] [--features 0|1] [--correction 0]
 *   [--roi on|off] [--model meet] [--out models/temporal-fusion.json]`
 * (--features 1 and --correction C were measured worse on the benchmark: docs/temporal.md.)
 *
 * Trains the learned fusion head of `--temporal attention-learned` on generated clips with the
 * backbone frozen, deterministic for a seed, on the CPU (wasm backend). Writes the weights and
 * a model card (data, settings, losses, validation metrics) next to them.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../inference/backend.js';
import { TfjsBackbone } from '../inference/tfjsBackbone.js';
import type { ModelName } from '../inference/types.js';
import { projectRoot } from '../paths.js';
import { TEMPORAL_DEFAULTS } from '../temporal/factory.js';
import { cachedTrainingSet } from './data.js';
import { DEFAULT_ROI } from '../roi/roiTracker.js';
import { ModelStore } from '../inference/modelStore.js';
import { trainFusionHead, type TrainSettings } from './trainFusion.js';
import { validate, type ValidationRow } from './validate.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

/** Seeds of the training and validation streams: never the evaluation clips' (catalog.ts). */
const VALIDATION_SEED_OFFSET = 0x5eed;

async function main(): Promise<void> {
  const t0 = performance.now();
  const seed = Number(arg('seed', '1234'));
  const clips = Number(arg('clips', '36'));
  const frames = Number(arg('frames', '60'));
  const model = arg('model', 'meet') as ModelName;
  const out = path.resolve(arg('out', path.join(projectRoot(), 'models', 'temporal-fusion.json')));
  const settings: TrainSettings = {
    epochs: Number(arg('epochs', '3')),
    learningRate: Number(arg('lr', '0.003')),
    hidden: Number(arg('hidden', '16')),
    memoryWeight: TEMPORAL_DEFAULTS.memoryWeight,
    featureChannels: 0,
    correction: Number(arg('correction', '0')),
    gatePool: Number(arg('gate-pool', '8')),
    poolStep: Number(arg('pool-step', '2')),
    // 3 (spatial context) needs Conv2DBackpropFilter, which tfjs-backend-wasm 4.22 lacks; the
    // cpu backend has it but trains ~10× slower here. 1 = per gate pixel, trains on wasm.
    kernel: Number(arg('kernel', '1')),
    temporalWeight: Number(arg('lambda', '4')),
    loss: arg('loss', 'bce') === 'jaccard' ? 'jaccard' : 'bce',
    ringSize: Number(arg('ring-size', '4')),
    params: { radius: TEMPORAL_DEFAULTS.radius, topK: TEMPORAL_DEFAULTS.topK, temperature: TEMPORAL_DEFAULTS.temperature },
    seed,
  };
  const log = (m: string) => console.error(`train: ${m}`);
  const { backend } = await selectBackend('wasm');
  // The training set is made with the TF.js graph (what the committed head was trained on; the
  // ONNX translation the server runs agrees within the translation test's tolerance).
  const backbone = await TfjsBackbone.load(model, { backend });
  const b = backbone.info;
  log(`backbone ${model} (${b.inputWidth}×${b.inputHeight}, features ${b.featureShape.join('×')}) frozen on ${backend}; ${clips} clips × ${frames} frames, seed ${seed}`);
  const weightsKey = createHash('sha256').update(readFileSync(ModelStore.open().verifiedPath(`${model}.bin`))).digest('hex');
  const roiArg = arg('roi', 'on');
  if (roiArg !== 'on' && roiArg !== 'off') throw new Error(`--roi must be on or off, got "${roiArg}"`);
  // The head sees what the server's default pipeline feeds it: frames segmented on the region of interest.
  const roi = roiArg === 'on' ? DEFAULT_ROI : false;
  const data = await cachedTrainingSet(backbone, weightsKey, seed, clips, frames, log, roi);
  const valData = await cachedTrainingSet(backbone, weightsKey, seed + VALIDATION_SEED_OFFSET, Math.max(4, Math.round(clips / 6)), frames, (m) => log(`validation ${m}`), roi);
  const tData = performance.now();
  log(`data ready in ${((tData - t0) / 1000).toFixed(0)} s`);
  const geometry = { ...b };
  if (arg('features', '0') === '1') (settings as { featureChannels: number }).featureChannels = b.featureShape[2];
  const { head, epochs } = await trainFusionHead(data, geometry, backend, settings, log);
  const tTrain = performance.now();
  const rows: ValidationRow[] = validate(valData, geometry, backend, settings, head);
  const tVal = performance.now();
  const meta = {
    model,
    backend,
    seed,
    data: { clips, frames, roi: roiArg, generator: 'src/quality/clips trainingClips (augmented, VP8 round trip)', validationClips: valData.length, validationSeed: seed + VALIDATION_SEED_OFFSET },
    settings,
    epochs,
    validation: rows,
    seconds: { data: (tData - t0) / 1000, training: (tTrain - tData) / 1000, validation: (tVal - tTrain) / 1000 },
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`,
    tensorflowjs: tf.version.tfjs,
  };
  // One line per number array: the file stays readable and diffs stay small.
  const text = JSON.stringify(head.toJson(meta), null, 1).replace(/\[\s+([-\d.e,\s]+?)\s+\]/g, (_m, g: string) => `[${g.replace(/\s+/g, ' ')}]`);
  writeFileSync(out, text + '\n');
  writeFileSync(out.replace(/\.json$/, '.md'), modelCard(meta, rows));
  log(`wrote ${out} and its model card in ${((performance.now() - t0) / 1000).toFixed(0)} s total`);
  head.dispose();
  backbone.dispose();
}

function modelCard(meta: Record<string, any>, rows: ValidationRow[]): string {
  const s = meta.settings as TrainSettings;
  const lines = [
    '# Model card: maskstream temporal fusion head (`attention-learned`)',
    '',
    'Written by `npm run train` (src/train/main.ts); regenerate with the same command to reproduce it exactly.',
    '',
    '## What it is',
    `A small gate network on a grid ${s.gatePool}× coarser than the mask (cues averaged over every ${s.poolStep === 1 ? '' : `${s.poolStep}nd `}pixel of each ${s.gatePool}×${s.gatePool} block; ${s.kernel}×${s.kernel} layer, ${6 + s.featureChannels} inputs → ${s.hidden} ReLU → ${s.correction > 0 ? '2 outputs' : '1 output'}) that decides per pixel how much the attention read of the session's memory counts against the current frame's person logit: fused logit = L + 1.5·σ(g)·logit(read)${s.correction > 0 ? ` + ${s.correction}·tanh(o₂)` : ''}. Inputs: current logit, read logit, match confidence, expected offset, frame difference, disagreement${s.featureChannels > 0 ? `, and the ${s.featureChannels} backbone feature channels` : ''} (src/temporal/stages/fusionHead.ts). The backbone (${meta.model}) is frozen; only the head is trained. It starts at the non-parametric rule (γ = ${s.memoryWeight}).`,
    '',
    '## Data',
    `${meta.data.clips} generated clips × ${meta.data.frames} frames (seed ${meta.seed}) from ${meta.data.generator}: people cut out with RVM from @vladmandic/human's samples.jpg and opencv-doc's messi5.jpg, composited onto opencv-doc photos with random motion (translation with motion blur, zoom, rotation, non-rigid sway, panning), augmented (scale, flip, colour, noise, blur) and VP8-encoded at a random WebRTC bitrate. Ground truth = the matte, exact by construction. scikit-image pictures are never used (reserved for the independent evaluation clip). People and background photos overlap with the opencv-based evaluation clips; seeds, motions and augmentations do not.`,
    `Frames segmented ${meta.data.roi === 'on' ? 'on the region of interest, as the server does by default (src/roi: a crop around where the last mask found people, the output put back on the whole picture)' : 'whole (no region of interest)'}.`,
    `Validation: ${meta.data.validationClips} more clips from seed ${meta.data.validationSeed}.`,
    '',
    '## Settings',
    `epochs ${s.epochs}, Adam lr ${s.learningRate} (halved at each third), hidden ${s.hidden}, kernel ${s.kernel}, gate pool ${s.gatePool}, pool step ${s.poolStep}, feature inputs ${s.featureChannels}, correction ${s.correction}, loss ${s.loss}, flicker weight λ ${s.temporalWeight}, ring ${s.ringSize} frames, attention radius ${s.params.radius}, top-k ${s.params.topK}, temperature ${s.params.temperature}; backend ${meta.backend}; ${meta.machine}; TF.js ${meta.tensorflowjs}.`,
    '',
    '## Losses',
    '| epoch | BCE | flicker | steps | seconds |',
    '|---:|---:|---:|---:|---:|',
    ...meta.epochs.map((e: any) => `| ${e.epoch} | ${e.bce.toFixed(4)} | ${e.flicker.toFixed(5)} | ${e.steps} | ${e.seconds.toFixed(0)} |`),
    '',
    '## Validation (mask resolution, held-out generated clips)',
    '| temporal | J | TE % | dtSSD |',
    '|---|---:|---:|---:|',
    ...rows.map((r) => `| ${r.mode} | ${r.J.toFixed(4)} | ${(100 * r.TE).toFixed(3)} | ${r.dtSSD.toFixed(3)} |`),
    '',
    `Time: data ${meta.seconds.data.toFixed(0)} s, training ${meta.seconds.training.toFixed(0)} s, validation ${meta.seconds.validation.toFixed(0)} s.`,
    '',
    'The evaluation that decides defaults is `npm run bench:quality` (docs/temporal.md).',
    '',
  ];
  return lines.join('\n');
}

main().catch((e: Error) => {
  console.error(`train: ${e.stack ?? e.message}`);
  process.exit(1);
});
