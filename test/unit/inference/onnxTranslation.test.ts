/**
 * The ONNX translation of meet and selfie (src/inference/onnx/) against the TF.js graph it was
 * made from, both run on the same real frames: a portrait from @vladmandic/human's samples, a
 * real photo of a person (opencv-doc's messi5.jpg), and a frame of real street footage with
 * several pedestrians (opencv-doc's vtest.avi). Plus the translation's own promises: every op
 * of both graphs covered, a free batch dimension, deterministic bytes matching the manifest.
 *
 * Tolerance. Both runtimes compute in float32 but not in the same order (ONNX Runtime fuses
 * conv + bias + activation and may use other convolution algorithms; float16 weights are
 * dequantized identically), so the difference is rounding that grows with the size of the
 * values summed. Measured here on these frames: meet max |Δ logit| 1.8e-3 at |logit| ≤ 37,
 * selfie 3.3e-3 at |logit| up to 865, features 1.3e-4. The bound, per element,
 * |Δ| ≤ 1e-2 + 2e-5·|logit|, is ≈ 6× the largest seen and far below what matters: a logit
 * moves the 8-bit mask by one level only when it changes by ≥ 1/64 near 0 (sigmoid' ≤ 1/4,
 * × 255). The masks are compared too: at most one level apart on every pixel. A wrong
 * translation (a transposed filter, a swapped channel, off-by-one padding) moves logits by
 * whole units: swapping meet's two classes, for example, negates every logit.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { selectBackend } from '../../../src/inference/backend.js';
import { TfjsBackbone } from '../../../src/inference/tfjsBackbone.js';
import { OrtBackbone } from '../../../src/inference/ortBackbone.js';
import { ModelStore } from '../../../src/inference/modelStore.js';
import { translateModel } from '../../../src/inference/onnx/onnxModels.js';
import { OrtSession } from '../../../src/inference/onnx/ortSession.js';
import { readGraphModel, type GraphModelJson } from '../../../src/inference/onnx/tfjsGraph.js';
import type { ModelName } from '../../../src/inference/types.js';
import { decodeCover } from '../../../src/quality/clips/imageIo.js';
import { portrait } from './portrait.js';

const DATA = '/usr/share/doc/opencv-doc/examples/data';

/** One frame of vtest.avi (real street footage) at the model's input size. */
function streetFrame(width: number, height: number, atSeconds: number): Uint8Array {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-ss', String(atSeconds), '-i', `${DATA}/vtest.avi`, '-frames:v', '1', '-vf', `scale=${width}:${height}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`ffmpeg could not read ${DATA}/vtest.avi (apt-get install ffmpeg opencv-doc): ${r.stderr?.toString()}`);
  return new Uint8Array(r.stdout);
}

function frames(width: number, height: number): { name: string; rgb: Uint8Array }[] {
  return [
    { name: 'portrait 0.75', rgb: portrait(width, height, 0.75).rgb },
    { name: 'portrait 1.0', rgb: portrait(width, height, 1).rgb },
    { name: 'messi5.jpg', rgb: decodeCover(`${DATA}/messi5.jpg`, width, height) },
    { name: 'vtest.avi 2 s', rgb: streetFrame(width, height, 2) },
  ];
}

const toByte = (l: number) => Math.min(255, Math.max(0, Math.round(255 / (1 + Math.exp(-l)))));

for (const name of ['meet', 'selfie'] as ModelName[]) {
  describe(`inference/onnx translation of ${name}`, function () {
    this.timeout(120_000);
    let tfjs: TfjsBackbone;
    let ort: OrtBackbone;

    before(async () => {
      await selectBackend('wasm');
      tfjs = await TfjsBackbone.load(name);
      ort = OrtBackbone.load(name, { provider: 'cpu', threads: 1 });
    });
    after(() => {
      tfjs?.dispose();
      ort?.dispose();
    });

    it('translates every node on the path to the outputs; only what follows the logits is left out', () => {
      const store = ModelStore.open();
      const spec = store.spec(name);
      const files = store.graphFiles(name);
      const graph = readGraphModel(JSON.parse(files.json.toString('utf8')) as GraphModelJson, files.weights);
      const byName = new Map(graph.nodes.map((n) => [n.name, n]));
      const reached = new Set<string>();
      const stack = [spec.outputNode, spec.featureNode];
      while (stack.length) {
        const n = stack.pop()!;
        if (reached.has(n)) continue;
        reached.add(n);
        stack.push(...byName.get(n)!.inputs);
      }
      const compute = (n: { op: string }) => n.op !== 'Const' && n.op !== 'Placeholder';
      const onPath = graph.nodes.filter((n) => compute(n) && reached.has(n.name));
      const left = graph.nodes.filter((n) => compute(n) && !reached.has(n.name));
      const t = translateModel(store, name);
      const want: Record<string, number> = {};
      for (const n of onPath) want[n.op] = (want[n.op] ?? 0) + 1;
      expect(t.tfOps).to.deep.equal(want);
      // Left out: only nodes fed by the logits node (selfie's final sigmoid; the server applies its own).
      for (const n of left) expect(n.inputs, `${n.name} (${n.op})`).to.deep.equal([spec.outputNode]);
      expect(left.length).to.be.at.most(1);
    });

    it('is deterministic and is the translation models/manifest.json records', () => {
      const store = ModelStore.open();
      const a = translateModel(store, name).bytes;
      const b = translateModel(store, name).bytes;
      expect(Buffer.from(a).equals(Buffer.from(b))).to.equal(true);
      expect(createHash('sha256').update(a).digest('hex')).to.equal(store.onnxRecord(name)!.sha256);
    });

    it('has uint8 NHWC input and NHWC outputs with a free batch dimension', () => {
      const session = OrtSession.create(translateModel(ModelStore.open(), name).bytes, { provider: 'cpu', threads: 1 });
      try {
        expect(session.inputNames).to.deep.equal(['rgb']);
        expect(session.outputNames).to.deep.equal(['logits', 'features']);
        const { inputWidth: w, inputHeight: h, maskWidth: mw, maskHeight: mh, featureShape: fs } = ort.info;
        const out = session.run({ rgb: { type: 'uint8', data: new Uint8Array(3 * w * h * 3).fill(100), dims: [3, h, w, 3] } });
        expect(out['logits']!.dims).to.deep.equal([3, mh, mw, 1]);
        expect(out['features']!.dims).to.deep.equal([3, ...fs]);
      } finally {
        session.dispose();
      }
    });

    it('gives the TF.js graph\'s logits, masks and features on real frames', () => {
      const { inputWidth: w, inputHeight: h } = tfjs.info;
      const rows: string[] = [];
      for (const f of frames(w, h)) {
        const a = tfjs.runBatch([f.rgb])[0]!;
        const b = ort.runBatch([f.rgb])[0]!;
        expect(b.logits.length).to.equal(a.logits.length);
        expect(b.features.length).to.equal(a.features.length);
        let dl = 0;
        let worst = 0;
        let dm = 0;
        let maxLogit = 0;
        let person = 0;
        for (let i = 0; i < a.logits.length; i++) {
          const d = Math.abs(a.logits[i]! - b.logits[i]!);
          dl = Math.max(dl, d);
          worst = Math.max(worst, d / (1e-2 + 2e-5 * Math.abs(a.logits[i]!)));
          dm = Math.max(dm, Math.abs(toByte(a.logits[i]!) - toByte(b.logits[i]!)));
          maxLogit = Math.max(maxLogit, Math.abs(a.logits[i]!));
          if (a.logits[i]! > 0) person++;
        }
        let df = 0;
        for (let i = 0; i < a.features.length; i++) df = Math.max(df, Math.abs(a.features[i]! - b.features[i]!));
        rows.push(`${f.name}: max |Δ logit| ${dl.toExponential(1)} (|logit| ≤ ${maxLogit.toFixed(0)}, person ${((100 * person) / a.logits.length).toFixed(1)} %), mask Δ ≤ ${dm}, max |Δ feature| ${df.toExponential(1)}`);
        expect(worst, `${f.name}: |Δ logit| ${dl} exceeds 1e-2 + 2e-5·|logit|`).to.be.at.most(1);
        expect(dm, `${f.name}: mask bytes`).to.be.at.most(1);
        expect(df, `${f.name}: features`).to.be.at.most(1e-3);
        // The frames are not trivial: the model sees people in the real photos.
        if (f.name !== 'vtest.avi 2 s') expect(person, f.name).to.be.greaterThan(0.02 * a.logits.length);
      }
      console.log(`      ${name}, TF.js wasm vs ONNX Runtime CPU:\n        ${rows.join('\n        ')}`);
    });
  });
}
