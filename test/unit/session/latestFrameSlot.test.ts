import { expect } from 'chai';
import { LatestFrameSlot } from '../../../src/session/latestFrameSlot.js';
import { MaskSender } from '../../../src/egress/maskSender.js';

describe('latest-frame-wins slot', () => {
  it('runs the first frame, keeps only the newest waiting one, and counts the superseded', () => {
    const s = new LatestFrameSlot<number>();
    expect(s.offer(1)).to.deep.equal({ run: 1 });
    expect(s.offer(2)).to.deep.equal({});
    expect(s.offer(3)).to.deep.equal({ superseded: 2 });
    expect(s.offer(4)).to.deep.equal({ superseded: 3 });
    expect(s.depth).to.equal(2);
    expect(s.done()).to.equal(4);
    expect(s.depth).to.equal(1);
    expect(s.done()).to.equal(undefined);
    expect(s.depth).to.equal(0);
    expect(s.offer(5)).to.deep.equal({ run: 5 });
  });

  it('never holds more than one waiting frame under a flood', () => {
    const s = new LatestFrameSlot<number>();
    let superseded = 0;
    for (let i = 0; i < 1000; i++) {
      if (s.offer(i).superseded !== undefined) superseded++;
      expect(s.waitingCount).to.be.at.most(1);
      if (i % 10 === 9) s.done();
    }
    expect(superseded).to.be.greaterThan(800);
  });

  it('after close, offers are refused and the waiting frame is handed back', () => {
    const s = new LatestFrameSlot<number>();
    s.offer(1);
    s.offer(2);
    expect(s.close()).to.equal(2);
    expect(s.offer(3)).to.deep.equal({ superseded: 3 });
    expect(s.done()).to.equal(undefined);
  });
});

describe('mask sender', () => {
  it('drops instead of queueing when the channel is backed up or closed', () => {
    const sent: Buffer[] = [];
    const ch = { readyState: 'open', bufferedAmount: 0, send: (b: Buffer) => void sent.push(b) };
    const s = new MaskSender(1000);
    expect(s.send(new Uint8Array(10))).to.equal('no_channel');
    s.attach(ch);
    expect(s.send(new Uint8Array(10))).to.equal('sent');
    ch.bufferedAmount = 995;
    expect(s.send(new Uint8Array(10))).to.equal('backpressure');
    ch.bufferedAmount = 0;
    ch.readyState = 'closing';
    expect(s.send(new Uint8Array(10))).to.equal('no_channel');
    expect(sent.length).to.equal(1);
  });
});
