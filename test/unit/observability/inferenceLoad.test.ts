import { expect } from 'chai';
import { BusyWindow, LoadSampler, loadRatio, MeteredInference } from '../../../src/observability/inferenceLoad.js';
import { Metrics } from '../../../src/observability/metrics.js';
import { createLogger } from '../../../src/observability/logger.js';
import type { InferenceOutcome } from '../../../src/inference/types.js';

describe('inference load (busy window, load ratio, metered inference)', () => {
  it('measures the busy share of a sliding window, not counting time before it began', () => {
    const w = new BusyWindow(10_000, 1000, 0);
    for (let t = 0; t < 10_000; t += 100) w.add(t, 50); // 50 ms of work every 100 ms
    expect(w.ratio(9_999)).to.be.closeTo(0.5, 0.01);
    const late = new BusyWindow(10_000, 1000, 5_000);
    for (let t = 5_000; t < 7_000; t += 100) late.add(t, 25);
    expect(late.ratio(7_000), 'only 2 s measured so far').to.be.closeTo(0.25, 0.02);
    expect(w.ratio(30_000), 'old work leaves the window').to.equal(0);
    const full = new BusyWindow(10_000, 1000, 0);
    for (let t = 0; t < 10_000; t += 10) full.add(t, 40);
    expect(full.ratio(9_999), 'clamped to 1').to.equal(1);
  });

  it('takes the tighter of session capacity and inference utilization', () => {
    expect(loadRatio(1, 4, 0.1)).to.equal(0.25);
    expect(loadRatio(1, 4, 0.9)).to.equal(0.9);
    expect(loadRatio(8, 4, 0)).to.equal(1);
    expect(loadRatio(0, 4, 0)).to.equal(0);
  });

  it('records busy seconds and worker queue wait per frame, and feeds the sampler gauges', async () => {
    const metrics = new Metrics({ maxSessions: 4 });
    let now = 1000;
    const inner = {
      submit: async (): Promise<InferenceOutcome> => {
        now += 30; // 30 ms round trip, 20 ms of it compute
        return { kind: 'mask', result: { mask: new Uint8Array(1), width: 1, height: 1, inferenceMs: 15, temporalMs: 5 }, queueMs: 0, roundTripMs: 30 };
      },
      closeSession: () => undefined,
    };
    const metered = new MeteredInference(inner, metrics, () => now);
    for (let i = 0; i < 10; i++) await metered.submit('s', { rgb: new Uint8Array(3) });
    const json = await metrics.registry.getMetricsAsJSON();
    const get = (name: string) => json.find((m) => m.name === name)!.values;
    expect(get('maskstream_inference_busy_seconds_total')[0]!.value).to.be.closeTo(0.2, 1e-9);
    const wait = get('maskstream_inference_queue_wait_seconds');
    expect((wait.find((v) => (v as { metricName?: string }).metricName === 'maskstream_inference_queue_wait_seconds_sum')!).value).to.be.closeTo(0.1, 1e-9);
    const sampler = new LoadSampler({
      metrics, busy: metered.busy, logger: createLogger('silent'), now: () => now,
      sessions: () => ({ active: 1, max: 4 }), temporalBytes: async () => 4096,
    });
    sampler.sampleLoad();
    const after = await metrics.registry.getMetricsAsJSON();
    const util = after.find((m) => m.name === 'maskstream_inference_utilization_ratio')!.values[0]!.value;
    expect(util, '200 ms busy in 300 ms measured').to.be.closeTo(200 / 300, 0.01);
    expect(after.find((m) => m.name === 'maskstream_load_ratio')!.values[0]!.value).to.be.closeTo(200 / 300, 0.01);
  });
});
