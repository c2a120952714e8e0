/**
 * The person detector: MoveNet MultiPose (a CenterNet on MobileNetV2 + FPN) translated to ONNX up
 * to its raw heads, run on ONNX Runtime, decoded here. It proposes where people are, small and
 * far ones included, which the segmenter's whole-picture pass often misses; the region of
 * interest then gives each of them a crop (src/roi/roiTracker.ts).
 *
 * Input: the whole picture letterboxed (aspect kept, black bars) into the detector's input.
 * Decoding (the TF Object Detection API's CenterNet, as the graph's own post-processing does it):
 * a person is a local maximum (3 × 3) of the centre heatmap above a score; its box is centred
 * at the cell + the predicted offset, with the predicted height and width, in output cells.
 * Owns its native session; dispose() frees it.
 */
import { ModelStore, type DetectorName } from './modelStore.js';
import { loadOnnxModel } from './onnx/onnxModels.js';
import { OrtSession, type OrtProvider } from './onnx/ortSession.js';
import { INPUT_NAME } from './onnx/translate.js';

/** A detected person: box in picture px (float), and the centre heatmap's score. */
export interface Detection {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
  readonly score: number;
}

/** Where a picture goes in the detector's input: scaled by `scale`, at the top left, black beyond. */
export interface Letterbox {
  readonly width: number;
  readonly height: number;
  readonly scale: number;
}

export function letterbox(pictureWidth: number, pictureHeight: number, inputWidth: number, inputHeight: number): Letterbox {
  const scale = Math.min(inputWidth / pictureWidth, inputHeight / pictureHeight);
  return { width: Math.max(2, Math.round(pictureWidth * scale)), height: Math.max(2, Math.round(pictureHeight * scale)), scale };
}

/**
 * Peaks of the centre heatmap (gw × gh) ≥ minScore, as boxes in input px (stride = input px per
 * cell). Pure. Highest score first.
 */
export function decodeCenters(center: Float32Array, boxScale: Float32Array, boxOffset: Float32Array, gw: number, gh: number, stride: number, minScore: number): Detection[] {
  const out: Detection[] = [];
  for (let y = 0; y < gh; y++) {
    for (let x = 0; x < gw; x++) {
      const v = center[y * gw + x]!;
      if (!(v >= minScore)) continue;
      let peak = true;
      for (let dy = -1; dy <= 1 && peak; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if ((dy || dx) && yy >= 0 && yy < gh && xx >= 0 && xx < gw && center[yy * gw + xx]! > v) {
            peak = false;
            break;
          }
        }
      }
      if (!peak) continue;
      const i = y * gw + x;
      const h = Math.max(0, boxScale[2 * i]!);
      const w = Math.max(0, boxScale[2 * i + 1]!);
      const cy = y + boxOffset[2 * i]!;
      const cx = x + boxOffset[2 * i + 1]!;
      out.push({ x0: (cx - w / 2) * stride, y0: (cy - h / 2) * stride, x1: (cx + w / 2) * stride, y1: (cy + h / 2) * stride, score: v });
    }
  }
  return out.sort((a, b) => b.score - a.score);
}

export interface PersonDetectorOptions {
  readonly provider: OrtProvider;
  readonly threads: number;
  readonly store?: ModelStore;
  /** Centre score at which a peak is a person (0..1). */
  readonly minScore: number;
}

export class PersonDetector {
  private disposed = false;

  private constructor(
    private readonly session: OrtSession,
    readonly name: DetectorName,
    readonly inputWidth: number,
    readonly inputHeight: number,
    private readonly minScore: number,
  ) {}

  static load(name: DetectorName, o: PersonDetectorOptions): PersonDetector {
    const store = o.store ?? ModelStore.open();
    const spec = store.detectorSpec(name);
    const session = OrtSession.create(loadOnnxModel(store, name).bytes, { provider: o.provider, threads: o.threads });
    return new PersonDetector(session, name, spec.inputWidth, spec.inputHeight, o.minScore);
  }

  /**
   * Detects people in each letterboxed picture (inputWidth × inputHeight × 3 RGB, the picture at
   * the top left scaled by its letterbox's scale): boxes in that picture's px. One execution
   * for the batch.
   */
  detect(inputs: readonly { readonly rgb: Uint8Array; readonly box: Letterbox }[]): Detection[][] {
    if (this.disposed) throw new Error(`person detector "${this.name}" was disposed`);
    if (inputs.length === 0) return [];
    const W = this.inputWidth;
    const H = this.inputHeight;
    const data = new Uint8Array(inputs.length * W * H * 3);
    inputs.forEach((x, i) => {
      if (x.rgb.length !== W * H * 3) throw new RangeError(`detector input has ${x.rgb.length} bytes, needs ${W}×${H}×3`);
      data.set(x.rgb, i * W * H * 3);
    });
    const out = this.session.run({ [INPUT_NAME]: { type: 'uint8', data, dims: [inputs.length, H, W, 3] } });
    const c = out['center']!;
    const [, gh, gw] = c.dims as [number, number, number, number];
    const cells = gh * gw;
    return inputs.map((x, i) => {
      const found = decodeCenters(c.data.subarray(i * cells, (i + 1) * cells), out['boxScale']!.data.subarray(2 * i * cells, 2 * (i + 1) * cells), out['boxOffset']!.data.subarray(2 * i * cells, 2 * (i + 1) * cells), gw, gh, W / gw, this.minScore);
      // Input px → picture px; peaks in the black bars are nobody.
      return found
        .filter((d) => (d.x0 + d.x1) / 2 < x.box.width && (d.y0 + d.y1) / 2 < x.box.height)
        .map((d) => ({ x0: d.x0 / x.box.scale, y0: d.y0 / x.box.scale, x1: d.x1 / x.box.scale, y1: d.y1 / x.box.scale, score: d.score }));
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.session.dispose();
  }
}
