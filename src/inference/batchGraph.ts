/**
 * Batch-size variants of a converted TF graph whose batch dimension was frozen to 1.
 *
 * The MediaPipe graphs (meet, selfie) declare their input as [1, H, W, 3] and carry the batch
 * size in constants: the shape operands of their Reshape ops (squeeze-excite blocks:
 * [1, C] and [1, 1, 1, C]) and the `input_sizes` operand of the final Conv2DBackpropInput
 * ([1, H, W, C]). A -1 does not work for the latter (the wasm kernel reads the size as is),
 * so each batch size n gets its own copy of the artifacts with those leading 1s set to n.
 * Weights are ≈ 0.4 MB, so a copy per batch size costs little. Pure: artifacts in, artifacts out.
 *
 * This is a heuristic about how the graph was exported; Backbone checks every variant against
 * single-frame runs at load and falls back to running frames back to back when one differs.
 */
import type * as tf from '@tensorflow/tfjs';

/** The graph cannot be given a batch dimension (unexpected structure or weight encoding). */
export class BatchGraphError extends Error {
  override readonly name = 'BatchGraphError';
}

interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, { shape?: { dim?: { size: string | number }[] } }>;
}

/** Bytes per element of a stored weight (after any quantization). */
function storedBytes(w: tf.io.WeightsManifestEntry): number {
  const dtype = w.quantization?.dtype ?? w.dtype;
  switch (dtype) {
    case 'float32':
    case 'int32':
      return 4;
    case 'float16':
    case 'uint16':
      return 2;
    case 'uint8':
    case 'bool':
      return 1;
    default:
      throw new BatchGraphError(`weight ${w.name} has dtype ${String(dtype)}, which the batch patcher cannot size`);
  }
}

/**
 * A copy of `arts` whose graph runs on batches of exactly `n` frames.
 * Returns the names of the patched constants too (for tests and logs).
 */
export function withBatchSize(arts: tf.io.ModelArtifacts, n: number): { artifacts: tf.io.ModelArtifacts; patched: string[] } {
  if (!Number.isInteger(n) || n < 1) throw new BatchGraphError(`batch size must be a positive integer, got ${n}`);
  const topology = structuredClone(arts.modelTopology) as { node?: GraphNode[] } | undefined;
  const specs = arts.weightSpecs;
  const data = arts.weightData;
  if (!topology?.node || !specs || !(data instanceof ArrayBuffer)) {
    throw new BatchGraphError('expected a graph model with its topology, weight specs and one weight buffer');
  }
  const patched: string[] = [];
  const inputs = topology.node.filter((x) => x.op === 'Placeholder');
  if (inputs.length !== 1) throw new BatchGraphError(`expected one input placeholder, found ${inputs.length}`);
  const dims = inputs[0]!.attr?.shape?.shape?.dim;
  if (!dims || Number(dims[0]?.size) !== 1) throw new BatchGraphError('the input placeholder has no leading batch dimension of 1');
  dims[0]!.size = String(n);
  patched.push(inputs[0]!.name);

  // Constants that carry the batch size as their first element.
  const batchConsts = new Set<string>();
  for (const x of topology.node) {
    if (x.op === 'Reshape' && x.input?.[1]) batchConsts.add(x.input[1]);
    if (x.op === 'Conv2DBackpropInput' && x.input?.[0]) batchConsts.add(x.input[0]);
  }
  const bytes = data.slice(0);
  const view = new DataView(bytes);
  let offset = 0;
  for (const w of specs) {
    const count = w.shape.reduce((a, b) => a * b, 1);
    if (batchConsts.has(w.name)) {
      if (w.dtype !== 'int32' || w.quantization) throw new BatchGraphError(`shape constant ${w.name} is ${w.quantization ? 'quantized' : w.dtype}, expected plain int32`);
      const first = view.getInt32(offset, true);
      // A reshape to [-1, …] already follows the batch; only a frozen 1 needs changing.
      if (first === 1) {
        view.setInt32(offset, n, true);
        patched.push(w.name);
      } else if (first !== -1) {
        throw new BatchGraphError(`shape constant ${w.name} starts with ${first}, not the batch size 1`);
      }
      batchConsts.delete(w.name);
    }
    offset += count * storedBytes(w);
  }
  if (offset !== bytes.byteLength) throw new BatchGraphError(`weight specs describe ${offset} bytes, the weight file has ${bytes.byteLength}`);
  // Shape operands that are graph nodes but not weights would stay frozen at 1.
  const inTopology = topology.node.filter((x) => batchConsts.has(x.name) && x.op === 'Const');
  if (inTopology.length) throw new BatchGraphError(`shape constants stored in the graph itself are not supported: ${inTopology.map((x) => x.name).join(', ')}`);
  return { artifacts: { ...arts, modelTopology: topology as object, weightData: bytes }, patched };
}
