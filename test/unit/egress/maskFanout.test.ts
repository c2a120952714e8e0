import { expect } from 'chai';
import { MaskFanout, SubscriberLimitError, type SubscriberPort } from '../../../src/egress/maskFanout.js';
import type { ChannelLike } from '../../../src/egress/maskSender.js';

class FakeChannel implements ChannelLike {
  readonly sent: Buffer[] = [];
  constructor(public readyState = 'open', public bufferedAmount = 0) {}
  send(data: Buffer): void {
    this.sent.push(data);
  }
}

class FakeSubscriber extends FakeChannel implements SubscriberPort {
  endedWith: string | undefined;
  end(reason: string): void {
    this.endedWith = reason;
  }
}

const MAX_BUFFERED = 1000;
const msg = (n: number) => new Uint8Array(n).fill(7);

describe('MaskFanout (data channel + subscribers, each with its own backpressure)', () => {
  it('sends the same bytes to the data channel and every subscriber', () => {
    const f = new MaskFanout(MAX_BUFFERED, 4);
    const dc = new FakeChannel();
    const a = new FakeSubscriber();
    const b = new FakeSubscriber();
    f.attachChannel(dc);
    f.addSubscriber(a);
    f.addSubscriber(b);
    const report = f.send(msg(100));
    expect(report).to.deep.equal({ sent: 3, backpressure: [] });
    for (const c of [dc, a, b]) expect(c.sent.map((x) => [...x])).to.deep.equal([[...msg(100)]]);
  });

  it('drops for a backed-up receiver only, and says which kind', () => {
    const f = new MaskFanout(MAX_BUFFERED, 4);
    const dc = new FakeChannel('open', 950);
    const slow = new FakeSubscriber('open', 990);
    const fast = new FakeSubscriber();
    f.attachChannel(dc);
    f.addSubscriber(slow);
    f.addSubscriber(fast);
    const report = f.send(msg(100));
    expect(report.sent).to.equal(1);
    expect(report.backpressure).to.deep.equal(['data_channel', 'subscriber']);
    expect(fast.sent.length).to.equal(1);
    expect(slow.sent.length + dc.sent.length).to.equal(0);
  });

  it('reports no receivers until one is open, and all-backed-up as backpressure', () => {
    const f = new MaskFanout(MAX_BUFFERED, 4);
    expect(f.hasReceivers).to.equal(false);
    expect(f.send(msg(10))).to.deep.equal({ sent: 0, backpressure: [] });
    const dc = new FakeChannel('connecting');
    f.attachChannel(dc);
    expect(f.hasReceivers).to.equal(false);
    dc.readyState = 'open';
    expect(f.hasReceivers).to.equal(true);
    dc.bufferedAmount = MAX_BUFFERED;
    expect(f.send(msg(10))).to.deep.equal({ sent: 0, backpressure: ['data_channel'] });
  });

  it('bounds subscribers, frees a slot on removal, and ends all of them once on close', () => {
    const f = new MaskFanout(MAX_BUFFERED, 2);
    const a = new FakeSubscriber();
    const b = new FakeSubscriber();
    const removeA = f.addSubscriber(a);
    f.addSubscriber(b);
    expect(() => f.addSubscriber(new FakeSubscriber())).to.throw(SubscriberLimitError, /maxMaskSubscribers/);
    removeA();
    expect(f.subscriberCount).to.equal(1);
    const c = new FakeSubscriber();
    f.addSubscriber(c);
    f.send(msg(5));
    expect(a.sent.length, 'removed subscriber gets nothing').to.equal(0);
    f.close('shutdown');
    f.close('again');
    expect([a.endedWith, b.endedWith, c.endedWith]).to.deep.equal([undefined, 'shutdown', 'shutdown']);
    expect(f.send(msg(5)).sent).to.equal(0);
    expect(() => f.addSubscriber(new FakeSubscriber())).to.throw(SubscriberLimitError, /ended/);
  });
});
