/**
 * The ONNX translations of the backbones: made from the sha256-checked TF.js graphs, cached in
 * the models folder, and checked against the sha256 models/manifest.json records for them.
 * `npm install` makes them (prepare → src/cli/translateModels.ts); a server that finds one
 * missing (a fresh models folder, a read-only image) translates it on load, in ≈ 0.1 s.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import { ManifestError, ModelIntegrityError, type DetectorName, type ModelStore, type OnnxRecord } from '../modelStore.js';
import type { ModelName } from '../types.js';
import { readGraphModel, type GraphModelJson } from './tfjsGraph.js';
import { TRANSLATOR_VERSION, translateGraph, type TranslatedModel, type TranslateSpec } from './translate.js';

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A model's TF.js graph, and where it came from (the first metadata entries of its translation). */
function sourceOf(store: ModelStore, name: ModelName | DetectorName): { graph: ReturnType<typeof readGraphModel>; provenance: [string, string][] } {
  const files = store.graphFiles(name);
  return {
    graph: readGraphModel(JSON.parse(files.json.toString('utf8')) as GraphModelJson, files.weights),
    provenance: [
      ['model', name],
      ['source', files.source],
      ['graph_sha256', files.jsonSha256],
      ['weights_sha256', files.weightsSha256],
      ['translator', TRANSLATOR_VERSION],
    ],
  };
}

/** The translation of `name` from its TF.js graph, in memory (not checked against the manifest). */
export function translateModel(store: ModelStore, name: ModelName | DetectorName): TranslatedModel {
  if (name === 'movenet-multipose') return translateDetector(store, name);
  const spec = store.spec(name);
  const { graph, provenance } = sourceOf(store, name);
  const t: TranslateSpec = {
    inputWidth: spec.inputWidth,
    inputHeight: spec.inputHeight,
    inputRange: spec.inputRange,
    outputs: [
      spec.output.kind === 'softmax2'
        ? { name: 'logits', node: spec.outputNode, kind: 'softmax2-logit', personChannel: spec.output.personChannel }
        : { name: 'logits', node: spec.outputNode, kind: 'as-is' },
      { name: 'features', node: spec.featureNode, kind: 'as-is' },
    ],
    metadata: [
      ...provenance,
      ['outputs', `logits: person logit [batch,H,W,1] from ${spec.outputNode}; features: ${spec.featureNode} [batch,h,w,c]`],
    ],
  };
  return translateGraph(graph, t);
}

/**
 * The person detector, translated up to its raw heads (the graph's own decoding after them —
 * top-k, gathers — stays out: personDetector.ts decodes in JavaScript). Outputs NHWC: center
 * [batch, h, w, 1] (after its sigmoid), boxScale [batch, h, w, 2] (box height, width in output
 * cells), boxOffset [batch, h, w, 2] (centre offset y, x in output cells).
 */
function translateDetector(store: ModelStore, name: DetectorName): TranslatedModel {
  const spec = store.detectorSpec(name);
  const { graph, provenance } = sourceOf(store, name);
  return translateGraph(graph, {
    inputWidth: spec.inputWidth,
    inputHeight: spec.inputHeight,
    inputRange: spec.inputRange,
    anyInputSize: true,
    outputs: [
      { name: 'center', node: spec.outputs.center, kind: 'as-is' },
      { name: 'boxScale', node: spec.outputs.boxScale, kind: 'as-is' },
      { name: 'boxOffset', node: spec.outputs.boxOffset, kind: 'as-is' },
    ],
    metadata: [
      ...provenance,
      ['outputs', 'center: person centre heatmap [batch,h,w,1]; boxScale: box height, width [batch,h,w,2]; boxOffset: centre offset y, x [batch,h,w,2] (output cells)'],
    ],
  });
}

export interface OnnxModelBytes {
  readonly bytes: Uint8Array;
  readonly path: string;
  /** How the bytes were obtained: read from the cache, or translated now (and written when possible). */
  readonly origin: 'cache' | 'translated' | 'translated-not-cached';
}

function recordOf(store: ModelStore, name: ModelName | DetectorName): OnnxRecord {
  const rec = store.onnxRecord(name);
  if (!rec) throw new ManifestError(`models/manifest.json has no "onnx" record for model "${name}"; run \`node dist/src/cli/translateModels.js --update-manifest\``);
  return rec;
}

/**
 * The model's ONNX bytes, sha256-checked: from the cache in the models folder, else translated
 * now and (when the folder is writable) cached as temp file + rename.
 */
export function loadOnnxModel(store: ModelStore, name: ModelName | DetectorName): OnnxModelBytes {
  const rec = recordOf(store, name);
  const file = path.join(store.dir, rec.file);
  if (existsSync(file)) {
    const cached = readFileSync(file);
    if (sha256(cached) === rec.sha256) return { bytes: cached, path: file, origin: 'cache' };
  }
  const { bytes } = translateModel(store, name);
  const got = sha256(bytes);
  if (got !== rec.sha256) {
    throw new ModelIntegrityError(
      `the ONNX translation of "${name}" has sha256 ${got}, models/manifest.json records ${rec.sha256} (translator ${rec.translator}, this one ${TRANSLATOR_VERSION}); ` +
        'if the translator was changed on purpose, check the new translation (npm test) and run `node dist/src/cli/translateModels.js --update-manifest`',
    );
  }
  const partial = `${file}.partial-${process.pid}-${threadId}`; // workers of one process may race here
  try {
    writeFileSync(partial, bytes);
    renameSync(partial, file);
    return { bytes, path: file, origin: 'translated' };
  } catch {
    // A read-only models folder (a container image, say): serve the translation from memory.
    rmSync(partial, { force: true });
    return { bytes, path: file, origin: 'translated-not-cached' };
  }
}
