import { expect } from 'chai';
import { FrameScheduler, SchedulerError } from '../../../src/inference/frameScheduler.js';
import { rng } from '../../../src/shared/random.js';

describe('inference/frameScheduler FrameScheduler', () => {
  it('keeps one waiting frame per session: a newer frame supersedes the waiting one', () => {
    const s = new FrameScheduler<string>({ workers: 1, maxBatch: 1, batchWindowMs: 0 });
    expect(s.offer('a', 'a1', 0)).to.deep.equal({ worker: 0 });
    expect(s.offer('a', 'a2', 1)).to.deep.equal({ worker: 0, superseded: 'a1' });
    expect(s.waitingOf('a')).to.equal(1);
    expect(s.waitingFrames).to.equal(1);
    const step = s.next(0, 2);
    expect(step).to.deep.equal({ kind: 'run', batch: [{ sessionId: 'a', frame: 'a2', offeredMs: 1 }] });
    expect(s.waitingFrames).to.equal(0);
    // While the worker runs a2, a3 waits and a4 replaces it: still one waiting.
    s.offer('a', 'a3', 3);
    expect(s.offer('a', 'a4', 4).superseded).to.equal('a3');
    expect(() => s.next(0, 5), 'a busy worker is not asked').to.throw(SchedulerError);
    s.done(0);
    expect(s.next(0, 6)).to.deep.equal({ kind: 'run', batch: [{ sessionId: 'a', frame: 'a4', offeredMs: 4 }] });
    s.done(0);
    expect(s.next(0, 7)).to.deep.equal({ kind: 'idle' });
  });

  it('never lets a session queue more than one frame, nor starves one, under a random flood (3 workers, 7 sessions)', () => {
    const rand = rng(42);
    const workers = 3;
    const sessions = Array.from({ length: 7 }, (_, i) => `s${i}`);
    const s = new FrameScheduler<{ id: string; n: number }>({ workers, maxBatch: 2, batchWindowMs: 3 });
    const running: ({ id: string; n: number }[] | undefined)[] = new Array(workers).fill(undefined);
    const lastRun = new Map<string, number>();
    const served = new Map<string, number>();
    const offered = new Map<string, number>();
    const waitedSince = new Map<string, number>();
    let maxWaitSteps = 0;
    for (let t = 0; t < 6000; t++) {
      // Every session sends often (faster than the workers can run them).
      for (const id of sessions) {
        if (rand() < 0.3) {
          const n = (offered.get(id) ?? 0) + 1;
          offered.set(id, n);
          s.offer(id, { id, n }, t);
          if (!waitedSince.has(id)) waitedSince.set(id, t);
        }
        expect(s.waitingOf(id), `${id} waiting frames`).to.be.at.most(1);
      }
      expect(s.waitingFrames).to.be.at.most(sessions.length);
      for (let w = 0; w < workers; w++) {
        if (running[w] && rand() < 0.4) {
          for (const f of running[w]!) served.set(f.id, (served.get(f.id) ?? 0) + 1);
          running[w] = undefined;
          s.done(w);
        }
        if (!running[w]) {
          const step = s.next(w, t);
          if (step.kind === 'run') {
            const ids = step.batch.map((b) => b.sessionId);
            expect(new Set(ids).size, 'a batch holds distinct sessions').to.equal(ids.length);
            expect(step.batch.length).to.be.at.most(2);
            for (const b of step.batch) {
              expect(s.workerOf(b.sessionId), 'a session runs on its pinned worker').to.equal(w);
              // Frames of a session run in order: a newer frame than the last one run.
              expect(b.frame.n).to.be.greaterThan(lastRun.get(b.sessionId) ?? 0);
              lastRun.set(b.sessionId, b.frame.n);
              maxWaitSteps = Math.max(maxWaitSteps, t - waitedSince.get(b.sessionId)!);
              waitedSince.delete(b.sessionId);
              if (s.waitingOf(b.sessionId)) waitedSince.set(b.sessionId, t);
            }
            running[w] = step.batch.map((b) => b.frame);
          }
        }
      }
    }
    // Pinned least-loaded: 7 sessions over 3 workers → 3, 2, 2.
    expect([0, 1, 2].map((w) => s.sessionsOn(w).length).sort()).to.deep.equal([2, 2, 3]);
    const counts = sessions.map((id) => served.get(id) ?? 0);
    // Fair: every session got a similar share (sessions on the 3-session worker a bit less).
    expect(Math.min(...counts), JSON.stringify(counts)).to.be.greaterThan(0.5 * Math.max(...counts));
    expect(maxWaitSteps, 'no frame waits for ever').to.be.lessThan(200);
  });

  it('shares an overloaded worker evenly between periodic streams (a superseded session keeps its place)', () => {
    // Two 30 fps streams 5 ms apart, one worker needing 25 ms a frame: only 40 of their 60
    // frames/s can run. Each must get half, whatever their phase.
    for (const phase of [1, 5, 16, 30]) {
      const s = new FrameScheduler<string>({ workers: 1, maxBatch: 1, batchWindowMs: 0 });
      const served: Record<string, number> = { a: 0, b: 0 };
      let busyUntil = -1;
      for (let t = 0; t < 30_000; t++) {
        if (t % 33 === 0) s.offer('a', 'a', t);
        if (t % 33 === phase) s.offer('b', 'b', t);
        if (busyUntil === t) s.done(0);
        if (!s.isBusy(0)) {
          const step = s.next(0, t);
          if (step.kind === 'run') {
            served[step.batch[0]!.sessionId]!++;
            busyUntil = t + 25;
          }
        }
      }
      expect(Math.min(served.a!, served.b!) / Math.max(served.a!, served.b!), `phase ${phase}: ${JSON.stringify(served)}`).to.be.at.least(0.9);
    }
  });

  it('pins each session to the worker with the fewest sessions, and frees the pin on close', () => {
    const s = new FrameScheduler<number>({ workers: 2, maxBatch: 1, batchWindowMs: 0 });
    expect(s.offer('a', 1, 0).worker).to.equal(0);
    expect(s.offer('b', 1, 0).worker).to.equal(1);
    expect(s.offer('c', 1, 0).worker).to.equal(0);
    expect(s.offer('a', 2, 1).worker, 'stays pinned').to.equal(0);
    expect(s.close('a'), 'the waiting frame comes back').to.equal(2);
    expect(s.close('a')).to.equal(undefined);
    expect(s.sessionsOn(0)).to.deep.equal(['c']);
    expect(s.offer('d', 1, 2).worker, 'fills the emptier worker').to.equal(0);
  });

  it('batches frames of different sessions: waits up to the window for partners, then runs what it has', () => {
    const s = new FrameScheduler<string>({ workers: 1, maxBatch: 3, batchWindowMs: 5 });
    s.offer('a', 'a1', 100);
    s.offer('b', 'b1', 101); // pins a, b, c to the one worker
    s.offer('c', 'c1', 102);
    // Three waiting = maxBatch: runs at once, oldest first.
    const full = s.next(0, 102);
    expect(full.kind).to.equal('run');
    expect(full.kind === 'run' && full.batch.map((b) => b.frame)).to.deep.equal(['a1', 'b1', 'c1']);
    s.done(0);

    s.offer('b', 'b2', 200);
    // b and c could still send within the window: wait until the oldest is 5 ms old.
    expect(s.next(0, 201)).to.deep.equal({ kind: 'wait', untilMs: 205 });
    s.offer('a', 'a2', 203);
    expect(s.next(0, 203)).to.deep.equal({ kind: 'wait', untilMs: 205 });
    const partial = s.next(0, 205);
    expect(partial.kind === 'run' && partial.batch.map((b) => [b.sessionId, b.frame])).to.deep.equal([['b', 'b2'], ['a', 'a2']]);
    s.done(0);

    // A session with nothing waiting is the only reason to wait: a lone session runs at once.
    const lone = new FrameScheduler<string>({ workers: 1, maxBatch: 4, batchWindowMs: 50 });
    lone.offer('x', 'x1', 0);
    expect(lone.next(0, 0)).to.deep.equal({ kind: 'run', batch: [{ sessionId: 'x', frame: 'x1', offeredMs: 0 }] });
  });

  it('does not wait for a partner whose next frame is due after the window (measured frame interval)', () => {
    const s = new FrameScheduler<string>({ workers: 1, maxBatch: 2, batchWindowMs: 8 });
    // Two 30 fps streams (33 ms apart each), b 20 ms behind a.
    for (const t of [0, 33, 66]) {
      s.offer('a', `a${t}`, t);
      s.offer('b', `b${t + 20}`, t + 20);
      for (const w of [t, t + 20]) {
        const step = s.next(0, w + 8);
        if (step.kind === 'run') s.done(0);
      }
    }
    // At 99 a offers; b's next is due at 106 (> 99 + 8 − 1): not worth waiting, run at once.
    s.offer('a', 'a99', 99);
    const step = s.next(0, 99);
    expect(step.kind === 'run' && step.batch.map((b) => b.frame)).to.deep.equal(['a99']);
    s.done(0);
    // With b due within the window, a waits for it.
    const t = new FrameScheduler<string>({ workers: 1, maxBatch: 2, batchWindowMs: 8 });
    for (const at of [0, 33, 66]) {
      t.offer('a', 'a', at);
      t.offer('b', 'b', at + 4);
      const r = t.next(0, at + 4);
      if (r.kind === 'run') t.done(0);
    }
    t.offer('a', 'a', 99);
    expect(t.next(0, 99)).to.deep.equal({ kind: 'wait', untilMs: 107 });
  });

  it('with batching off, runs one frame at a time, oldest session first', () => {
    const s = new FrameScheduler<string>({ workers: 1, maxBatch: 1, batchWindowMs: 10 });
    s.offer('late', 'l', 5);
    s.offer('early', 'e', 3);
    const first = s.next(0, 6);
    expect(first.kind === 'run' && first.batch.map((b) => b.frame)).to.deep.equal(['e']);
  });

  it('hands back every waiting frame of a worker (a replacement that cannot start)', () => {
    const s = new FrameScheduler<string>({ workers: 2, maxBatch: 1, batchWindowMs: 0 });
    s.offer('a', 'a1', 0);
    s.offer('b', 'b1', 0);
    s.offer('c', 'c1', 0);
    expect(s.takeWaiting(0).sort()).to.deep.equal(['a1', 'c1']);
    expect(s.waitingFrames).to.equal(1);
    expect(s.next(0, 1)).to.deep.equal({ kind: 'idle' });
  });

  it('refuses a nonsensical configuration', () => {
    expect(() => new FrameScheduler({ workers: 0, maxBatch: 1, batchWindowMs: 0 })).to.throw(SchedulerError, /workers/);
    expect(() => new FrameScheduler({ workers: 1, maxBatch: 0, batchWindowMs: 0 })).to.throw(SchedulerError, /maxBatch/);
    expect(() => new FrameScheduler({ workers: 1, maxBatch: 1, batchWindowMs: -1 })).to.throw(SchedulerError, /batchWindowMs/);
  });
});
