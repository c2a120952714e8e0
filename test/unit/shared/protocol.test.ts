import { expect } from 'chai';
import { MAX_SIGNAL_MESSAGE_BYTES, parseAck, parseClientMessage, ProtocolError } from '../../../src/shared/protocol.js';

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(ProtocolError);
    return (e as ProtocolError).code;
  }
  throw new Error('expected a ProtocolError');
}

describe('signaling protocol', () => {
  it('parses valid messages', () => {
    expect(parseClientMessage('{"type":"offer","sdp":"v=0\\r\\no=- 1 1 IN IP4 0.0.0.0\\r\\n"}').type).to.equal('offer');
    expect(parseClientMessage('{"type":"candidate","candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}')).to.deep.equal({
      type: 'candidate', candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0,
    });
    expect(parseClientMessage('{"type":"candidate","candidate":""}')).to.deep.include({ candidate: '', sdpMid: null });
    expect(parseClientMessage('{"type":"bye"}')).to.deep.equal({ type: 'bye' });
  });

  it('gives a specific error code for each kind of bad input', () => {
    expect(code(() => parseClientMessage('{nope'))).to.equal('bad_json');
    expect(code(() => parseClientMessage('[1,2]'))).to.equal('bad_message');
    expect(code(() => parseClientMessage('{"type":42}'))).to.equal('bad_message');
    expect(code(() => parseClientMessage('{"type":"dance"}'))).to.equal('bad_message');
    expect(code(() => parseClientMessage('{"type":"offer"}'))).to.equal('bad_message');
    expect(code(() => parseClientMessage('{"type":"offer","sdp":"hello"}'))).to.equal('bad_message');
    expect(code(() => parseClientMessage('{"type":"candidate","candidate":"x","sdpMLineIndex":-1}'))).to.equal('bad_message');
    expect(code(() => parseClientMessage(JSON.stringify({ type: 'offer', sdp: 'v=0' + 'a'.repeat(MAX_SIGNAL_MESSAGE_BYTES) })))).to.equal('too_large');
    expect(code(() => parseClientMessage(JSON.stringify({ type: 'offer', sdp: 'v=0' + 'a'.repeat(40_000) })))).to.equal('too_large');
  });

  it('validates data-channel acks', () => {
    expect(parseAck('{"type":"ack","seq":5,"e2eMs":42.5}')).to.deep.equal({ type: 'ack', seq: 5, e2eMs: 42.5 });
    expect(parseAck('{"type":"ack","seq":5}')).to.deep.equal({ type: 'ack', seq: 5 });
    expect(code(() => parseAck('{"type":"ack","seq":-1}'))).to.equal('bad_message');
    expect(code(() => parseAck('{"type":"ack","seq":1,"e2eMs":"fast"}'))).to.equal('bad_message');
    expect(code(() => parseAck('{"type":"ack","seq":1,"e2eMs":1e9}'))).to.equal('bad_message');
    expect(code(() => parseAck('{"type":"hello"}'))).to.equal('bad_message');
    expect(code(() => parseAck('x'.repeat(300)))).to.equal('too_large');
  });
});
