import { expect } from 'chai';
import { Emitter } from '../../../src/shared/events.js';

describe('shared/events Emitter', () => {
  it('calls every listener of an event in order with its arguments; off() removes one', () => {
    const e = new Emitter<{ a: [number, string]; b: [] }>();
    const seen: string[] = [];
    const off = e.on('a', (n, s) => seen.push(`1:${n}${s}`));
    e.on('a', (n, s) => seen.push(`2:${n}${s}`));
    e.on('b', () => seen.push('b'));
    e.emit('a', 7, 'x');
    off();
    e.emit('a', 8, 'y');
    e.emit('b');
    expect(seen).to.deep.equal(['1:7x', '2:7x', '2:8y', 'b']);
    expect(e.count('a')).to.equal(1);
    e.clear();
    expect(e.count('a')).to.equal(0);
  });

  it('isolates a listener that throws: the others run and the error goes to onListenerError', () => {
    const errors: string[] = [];
    const e = new Emitter<{ crash: [number] }>((err, event) => errors.push(`${String(event)}: ${(err as Error).message}`));
    const seen: number[] = [];
    e.on('crash', () => {
      throw new Error('boom');
    });
    e.on('crash', (n) => seen.push(n));
    expect(() => e.emit('crash', 3)).to.not.throw();
    expect(seen).to.deep.equal([3]);
    expect(errors).to.deep.equal(['crash: boom']);
  });

  it('a listener removing itself while called does not disturb the others', () => {
    const e = new Emitter<{ x: [] }>();
    const seen: string[] = [];
    const off = e.on('x', () => {
      seen.push('once');
      off();
    });
    e.on('x', () => seen.push('always'));
    e.emit('x');
    e.emit('x');
    expect(seen).to.deep.equal(['once', 'always', 'always']);
  });
});
