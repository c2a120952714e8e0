import { expect } from 'chai';
import { MaskSender } from '../../../src/egress/maskSender.js';

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
