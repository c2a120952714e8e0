import { expect } from 'chai';
import { DEFAULT_ROI } from '../../../src/roi/roiTracker.js';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../../src/config.js';
import { formatMetricsTable, matchNames, EvalInputError } from '../../../src/cli/eval.js';
import { parseFlags, UsageError } from '../../../src/cli/flags.js';
import { maskFileName, OfflineSegmenter, parseSegmentArgs } from '../../../src/cli/segment.js';
import { SegmentationEngine } from '../../../src/inference/engine.js';
import { TEMPORAL_MODES } from '../../../src/temporal/temporalConfig.js';
import { generateClip, type Clip } from '../../../src/testing/synthClip.js';
import { evaluateSequence } from '../../../src/quality/metrics.js';
import { DEFAULTS } from '../../../src/config.js';

/**
 * How a mask (≥ 128 = person) sits on the pasted portrait's box: share of the box covered
 * (the photo has background around the head, so ≈ 0.5 is right), share of all foreground
 * inside the box, and share of the box's lower-middle "torso" (central 60 % of the width,
 * bottom quarter), which is person in every frame.
 */
function inBox(mask: Uint8Array, w: number, box: { x: number; y: number; w: number; h: number }): { coverage: number; precision: number; torso: number } {
  let fg = 0, fgIn = 0, torso = 0, torsoN = 0;
  for (let i = 0; i < mask.length; i++) {
    const x = i % w, y = Math.floor(i / w);
    const inside = x >= box.x && x < box.x + box.w && y >= box.y && y < box.y + box.h;
    const isTorso = x >= box.x + 0.2 * box.w && x < box.x + 0.8 * box.w && y >= box.y + 0.75 * box.h && y < box.y + box.h;
    if (isTorso) torsoN++;
    if (mask[i]! < 128) continue;
    fg++;
    if (inside) fgIn++;
    if (isTorso) torso++;
  }
  return { coverage: fgIn / (box.w * box.h), precision: fg ? fgIn / fg : 0, torso: torso / torsoN };
}

describe('cli/segment', () => {
  describe('parseSegmentArgs', () => {
    it('fills the engine settings from the server defaults', () => {
      expect(parseSegmentArgs(['--input', 'a.y4m', '--output', 'out'])).to.deep.equal({
        input: 'a.y4m', output: 'out', model: 'meet', backend: 'auto', temporal: { mode: DEFAULTS.temporal, ringSize: DEFAULTS.ringSize }, roi: { ...DEFAULT_ROI, refreshFrames: DEFAULTS.roiRefreshFrames }, limit: undefined,
      });
    });

    it('--roi off segments whole pictures; --roi-refresh-frames and MASKSTREAM_ROI_* are the server’s', () => {
      expect(parseSegmentArgs(['--input', 'a', '--output', 'o', '--roi', 'off'])!.roi).to.equal(false);
      expect(parseSegmentArgs(['--input', 'a', '--output', 'o'], { MASKSTREAM_ROI: 'off' })!.roi).to.equal(false);
      expect(parseSegmentArgs(['--input', 'a', '--output', 'o', '--roi-refresh-frames', '0'])!.roi).to.deep.equal({ ...DEFAULT_ROI, refreshFrames: 0 });
      expect(() => parseSegmentArgs(['--input', 'a', '--output', 'o', '--roi', 'maybe'])).to.throw(ConfigError, /--roi: must be one of on, off/);
    });

    it('takes flags (both spellings) over MASKSTREAM_* variables, and only the engine variables', () => {
      const o = parseSegmentArgs(['--input=a.y4m', '--output', 'out', '--model', 'selfie', '--ring-size=3', '--limit', '5'], {
        MASKSTREAM_MODEL: 'meet', MASKSTREAM_BACKEND: 'cpu', MASKSTREAM_PORT: 'not a port',
      });
      expect(o).to.deep.include({ model: 'selfie', backend: 'cpu', temporal: { mode: DEFAULTS.temporal, ringSize: 3 }, limit: 5 });
    });

    it('accepts every temporal mode of the shared list and rejects others with the list', () => {
      for (const mode of TEMPORAL_MODES) expect(parseSegmentArgs(['--input', 'a', '--output', 'o', '--temporal', mode])!.temporal.mode).to.equal(mode);
      expect(() => parseSegmentArgs(['--input', 'a', '--output', 'o', '--temporal', 'sideways'])).to.throw(ConfigError, new RegExp(`--temporal: must be one of ${TEMPORAL_MODES.join(', ')}`));
    });

    it('rejects bad flags with messages naming them', () => {
      expect(() => parseSegmentArgs(['--output', 'o'])).to.throw(UsageError, /--input is required/);
      expect(() => parseSegmentArgs(['--input', 'a', '--output', 'o', '--port', '1'])).to.throw(UsageError, /unknown flag --port/);
      expect(() => parseSegmentArgs(['--input', 'a', '--output', 'o', '--limit', '0'])).to.throw(UsageError, /--limit must be a positive integer, got "0"/);
      expect(() => parseSegmentArgs(['--input', 'a', '--output'])).to.throw(UsageError, /--output needs a value/);
      expect(() => parseSegmentArgs(['--input', 'a', 'stray', '--output', 'o'])).to.throw(UsageError, /unexpected argument "stray"/);
      expect(() => parseSegmentArgs(['--input', 'a', '--output', 'o', '--model', 'huge'])).to.throw(ConfigError, /--model/);
      expect(() => parseSegmentArgs(['--input', 'a', '--input', 'b', '--output', 'o'])).to.throw(UsageError, /--input given twice/);
    });

    it('--help (or -h) needs no other flags', () => {
      expect(parseSegmentArgs(['--help'])).to.equal(null);
      expect(parseSegmentArgs(['-h'])).to.equal(null);
    });
  });

  it('names frames with 6 digits', () => {
    expect([maskFileName(0), maskFileName(42), maskFileName(123456)]).to.deep.equal(['000000.png', '000042.png', '123456.png']);
  });

  describe('OfflineSegmenter', function () {
    this.timeout(120_000);
    let clip: Clip;
    before(async () => {
      clip = await generateClip({ frames: 4, width: 160, height: 120, fps: 30, speedPxPerFrame: 4, seed: 5 });
    });

    it('returns full-size masks over the person and frees every tensor on close()', async () => {
      const before = tf.memory().numTensors;
      const seg = await OfflineSegmenter.create({ model: 'meet', backend: 'auto', temporal: { mode: 'none', ringSize: 4 } });
      expect(seg.info.maskWidth).to.equal(256);
      const masks = clip.frames.map((f) => seg.process(f));
      for (let i = 0; i < masks.length; i++) {
        expect(masks[i]!.length).to.equal(160 * 120);
        const s = inBox(masks[i]!, 160, clip.boxes[i]!);
        expect(s.coverage, JSON.stringify(s)).to.be.at.least(0.3);
        expect(s.precision, JSON.stringify(s)).to.be.at.least(0.85);
        expect(s.torso, JSON.stringify(s)).to.be.at.least(0.8);
      }
      expect(seg.frames).to.equal(4);
      expect(seg.meanMs).to.be.greaterThan(0);
      const t = seg.lastTimings!;
      expect(t.totalMs).to.be.at.least(t.preprocessMs + t.resizeMs);
      seg.close();
      seg.close(); // idempotent
      expect(tf.memory().numTensors).to.equal(before);
      expect(() => seg.process(clip.frames[0]!)).to.throw(/closed/);
    });

    it('withEngine borrows the engine: close() ends only its session; same masks as a fresh segmenter', async () => {
      const engine = await SegmentationEngine.create({ model: 'meet', backend: 'auto', temporal: { mode: 'none', ringSize: 4 } });
      try {
        const baseline = tf.memory().numTensors;
        const a = OfflineSegmenter.withEngine(engine, 'a');
        const b = OfflineSegmenter.withEngine(engine, 'b');
        const ma = clip.frames.map((f) => a.process(f));
        const mb = clip.frames.map((f) => b.process(f));
        a.close();
        b.close();
        expect(engine.sessionCount).to.equal(0);
        expect(tf.memory().numTensors).to.equal(baseline);
        const m = evaluateSequence(ma, mb, 160, 120);
        expect([m.J, m.TE, m.dtSSD]).to.deep.equal([1, 0, 0]);
      } finally {
        engine.close();
      }
    });
  });
});

describe('cli/eval helpers', () => {
  it('names the first file present in only one directory', () => {
    expect(matchNames(['000000.png', '000001.png'], ['000000.png', '000001.png'], 'p', 'g')).to.deep.equal(['000000.png', '000001.png']);
    expect(() => matchNames(['000000.png', '000001.png', '000002.png'], ['000000.png', '000001.png'], 'p', 'g')).to.throw(EvalInputError, /000002\.png is only in p \(--pred has 3 PNGs, --gt 2\)/);
    expect(() => matchNames(['a.png', 'c.png'], ['a.png', 'b.png'], 'p', 'g')).to.throw(EvalInputError, /b\.png is only in g/);
  });

  it('prints an aligned table', () => {
    const t = formatMetricsTable({ frames: 12, width: 4, height: 4, J: 0.5, F: 1, TE: 0.125, dtSSD: 12.5, boundaryTolerancePx: 6, perFrameJ: [], perFrameF: [] });
    const lines = t.trimEnd().split('\n');
    expect(lines.map((l) => l.split(/\s+/)[0])).to.deep.equal(['frames', 'J', 'F', 'TE', 'dtSSD']);
    // Names padded to 6, values right-aligned to 7, two spaces between columns.
    expect(lines[0]).to.equal('frames       12  4×4');
    expect(lines[1]).to.match(/^J {8}0\.5000  region IoU/);
    expect(lines[4]).to.match(/^dtSSD {3}12\.5000  temporal/);
  });

  it('boolean flags take no value', () => {
    expect(() => parseFlags('eval', ['--json=1'], [{ name: 'json', kind: 'boolean', help: '' }])).to.throw(UsageError, /--json takes no value/);
  });
});
