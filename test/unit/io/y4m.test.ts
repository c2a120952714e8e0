import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { I420Picture } from '../../../src/decode/types.js';
import { i420FrameBytes, openY4m, parseY4mHeader, writeY4m, Y4mFormatError, Y4mReader, Y4mWriter, frameRateFraction } from '../../../src/io/y4m.js';

function picture(width: number, height: number, seed: number): I420Picture {
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  const fill = (n: number, k: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + k) & 255);
  return { width, height, y: fill(width * height, 0), u: fill(cw * ch, 1), v: fill(cw * ch, 2), yStride: width, uvStride: cw };
}

async function readAll(r: Y4mReader): Promise<I420Picture[]> {
  const out: I420Picture[] = [];
  for await (const f of r.frames()) out.push(f);
  return out;
}

function ffmpeg(args: string[]): Buffer {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args], { maxBuffer: 64 << 20 });
  if (r.error || r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.error?.message ?? r.stderr.toString()}`);
  return r.stdout;
}

/** Asserts that opening (and reading every frame of) file rejects with Y4mFormatError matching re. */
async function expectRejects(file: string, re: RegExp): Promise<void> {
  try {
    const r = await openY4m(file);
    await readAll(r);
  } catch (e) {
    expect(e).to.be.instanceOf(Y4mFormatError);
    expect((e as Error).message).to.match(re);
    return;
  }
  expect.fail(`${file} was accepted`);
}

describe('io/y4m', () => {
  let dir: string;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'maskstream-y4m-'));
    await writeY4m(file('three.y4m'), [0, 1, 2].map((s) => picture(6, 4, s)), { width: 6, height: 4, fps: 30 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string) => path.join(dir, name);

  it('round-trips frames, odd sizes (chroma rounds up) and an exact frame rate', async () => {
    const frames = [0, 1, 2].map((s) => picture(7, 5, s));
    expect(await writeY4m(file('rt.y4m'), frames, { width: 7, height: 5, fps: { num: 30000, den: 1001 } })).to.equal(3);
    expect(readFileSync(file('rt.y4m')).subarray(0, 45).toString('latin1')).to.equal('YUV4MPEG2 W7 H5 F30000:1001 Ip A1:1 C420jpeg\n');
    expect(statSync(file('rt.y4m')).size).to.equal(45 + 3 * (6 + 7 * 5 + 2 * 4 * 3));
    const r = await openY4m(file('rt.y4m'));
    expect([r.width, r.height, r.frameBytes, r.colorSpace, r.interlace]).to.deep.equal([7, 5, i420FrameBytes(7, 5), '420jpeg', 'p']);
    expect(r.frameRate).to.deep.equal({ num: 30000, den: 1001 });
    expect(r.fps).to.be.closeTo(29.97, 0.001);
    const back = await readAll(r);
    expect(back).to.have.length(3);
    for (let i = 0; i < 3; i++) {
      expect(back[i]!.yStride).to.equal(7);
      expect(back[i]!.uvStride).to.equal(4);
      expect([...back[i]!.y]).to.deep.equal([...frames[i]!.y]);
      expect([...back[i]!.u]).to.deep.equal([...frames[i]!.u]);
      expect([...back[i]!.v]).to.deep.equal([...frames[i]!.v]);
    }
  });

  it('writer packs strided planes and checks the frame size', async () => {
    const p = picture(4, 2, 3);
    // Same picture with 3 bytes of padding per row in every plane.
    const pad = (plane: Uint8Array, w: number, h: number, stride: number) => {
      const out = new Uint8Array(stride * h).fill(0xee);
      for (let y = 0; y < h; y++) out.set(plane.subarray(y * w, (y + 1) * w), y * stride);
      return out;
    };
    const strided: I420Picture = { ...p, y: pad(p.y, 4, 2, 7), u: pad(p.u, 2, 1, 5), v: pad(p.v, 2, 1, 5), yStride: 7, uvStride: 5 };
    const w = await Y4mWriter.create(file('stride.y4m'), { width: 4, height: 2, fps: 25 });
    await w.write(strided);
    let err: unknown;
    await w.write(picture(2, 2, 0)).catch((e: unknown) => (err = e));
    expect(String(err)).to.match(/frame 1 is 2×2, the file is 4×2/);
    await w.close();
    const [f] = await readAll(await openY4m(file('stride.y4m')));
    expect([...f!.y, ...f!.u, ...f!.v]).to.deep.equal([...p.y, ...p.u, ...p.v]);
  });

  it('turns fps numbers into F fractions', () => {
    expect(frameRateFraction(30)).to.deep.equal({ num: 30, den: 1 });
    expect(frameRateFraction(12.5)).to.deep.equal({ num: 25, den: 2 });
    expect(() => frameRateFraction(0)).to.throw(RangeError);
  });

  it('reads what ffmpeg writes (X tokens, 3 frames) with the same pixels as ffmpeg\'s raw output', async () => {
    const src = ['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10', '-frames:v', '3', '-pix_fmt', 'yuv420p'];
    ffmpeg([...src, '-f', 'yuv4mpegpipe', file('ff.y4m')]);
    const raw = ffmpeg([...src, '-f', 'rawvideo', '-']);
    const header = readFileSync(file('ff.y4m')).toString('latin1').split('\n')[0]!;
    expect(header).to.match(/^YUV4MPEG2 W64 H48 F10:1 Ip A1:1 C420jpeg X/); // ffmpeg adds XYSCSS=… XCOLORRANGE=…
    const r = await openY4m(file('ff.y4m'));
    expect([r.width, r.height, r.fps]).to.deep.equal([64, 48, 10]);
    expect(r.extensions).to.include('YSCSS=420JPEG');
    expect(r.extensions.some((x) => x.startsWith('COLORRANGE='))).to.equal(true);
    const frames = await readAll(r);
    expect(frames).to.have.length(3);
    const got = Buffer.concat(frames.flatMap((f) => [f.y, f.u, f.v]));
    expect(got.equals(raw)).to.equal(true);
  });

  it('reads ffmpeg\'s odd-sized, NTSC-rate output', async () => {
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=63x47:rate=30000/1001', '-frames:v', '2', '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', file('odd.y4m')]);
    const r = await openY4m(file('odd.y4m'));
    expect(r.frameRate).to.deep.equal({ num: 30000, den: 1001 });
    const frames = await readAll(r);
    expect(frames.map((f) => [f.width, f.height, f.y.length, f.u.length, f.uvStride])).to.deep.equal([
      [63, 47, 63 * 47, 32 * 24, 32],
      [63, 47, 63 * 47, 32 * 24, 32],
    ]);
  });

  it('accepts every 4:2:0 8-bit colour-space tag, unknown tokens and FRAME parameters', async () => {
    for (const c of ['', ' C420', ' C420jpeg', ' C420paldv', ' C420mpeg2']) {
      expect(parseY4mHeader(`YUV4MPEG2 W4 H2 F30:1${c}`).colorSpace).to.equal(c ? c.slice(2) : '420jpeg');
    }
    const h = parseY4mHeader('YUV4MPEG2 W4 H2 Zfuture=1 XCOLORRANGE=FULL A0:0 It');
    expect([h.width, h.height, h.fps, h.interlace, h.extensions]).to.deep.equal([4, 2, 25, 't', ['COLORRANGE=FULL']]); // no F: ffmpeg's 25
    const p = picture(4, 2, 9);
    const body = Buffer.concat([p.y, p.u, p.v]);
    writeFileSync(file('params.y4m'), Buffer.concat([Buffer.from('YUV4MPEG2 W4 H2 F5:1\nFRAME Ixyz XFOO=1\n'), body, Buffer.from(`FRAME ${'X'.repeat(600)}\n`), body]));
    const frames = await readAll(await openY4m(file('params.y4m')));
    expect(frames).to.have.length(2);
    for (const f of frames) expect([...f.y, ...f.u, ...f.v]).to.deep.equal([...body]);
  });

  describe('rejects', () => {
    const cases: [string, string | Buffer, RegExp][] = [
      ['a non-Y4M file', 'hello world\n', /is not a YUV4MPEG2 file: it starts with "hello worl"/],
      ['an empty file', '', /is empty/],
      ['a header with no end', 'YUV4MPEG2 W4 H2', /header line has no end/],
      ['a missing width', 'YUV4MPEG2 H2 F30:1\n', /no width \(W token\)/],
      ['a missing height', 'YUV4MPEG2 W4 F30:1\n', /no height \(H token\)/],
      ['a zero width', 'YUV4MPEG2 W0 H2\n', /invalid width "W0"/],
      ['a non-numeric height', 'YUV4MPEG2 W4 Habc\n', /invalid height "Habc"/],
      ['a bad frame rate', 'YUV4MPEG2 W4 H2 F30\n', /invalid frame rate "F30"/],
      ['an absurd size', 'YUV4MPEG2 W9000 H9000\n', /9000×9000 is larger than the supported maximum of 8192×8192/],
      ['4:4:4', 'YUV4MPEG2 W4 H2 C444\n', /unsupported colour space "C444": only 4:2:0 8-bit is supported/],
      ['4:2:2', 'YUV4MPEG2 W4 H2 C422\n', /unsupported colour space "C422": only 4:2:0 8-bit/],
      ['monochrome', 'YUV4MPEG2 W4 H2 Cmono\n', /unsupported colour space "Cmono": only 4:2:0 8-bit/],
      ['10-bit 4:2:0', 'YUV4MPEG2 W4 H2 C420p10\n', /unsupported colour space "C420p10": only 4:2:0 8-bit/],
      ['a missing FRAME marker', Buffer.concat([Buffer.from('YUV4MPEG2 W4 H2\nFRAME\n'), Buffer.alloc(12), Buffer.from('GARBAGE\n')]), /expected "FRAME" at byte 34 \(frame 1\), found "GARBAGE/],
      ['a truncated last frame', Buffer.concat([Buffer.from('YUV4MPEG2 W4 H2\n'), Buffer.from('FRAME\n'), Buffer.alloc(12), Buffer.from('FRAME\n'), Buffer.alloc(7)]), /frame 1 is truncated: 5 of its 12 bytes are missing/],
      ['a file ending inside a FRAME line', Buffer.concat([Buffer.from('YUV4MPEG2 W4 H2\n'), Buffer.from('FRAME\n'), Buffer.alloc(12), Buffer.from('FRA')]), /frame 1 is truncated: the file ends inside its FRAME line/],
    ];
    for (const [what, content, re] of cases) {
      it(what, async () => {
        const f = file(what.replace(/\W+/g, '_') + '.y4m');
        writeFileSync(f, content);
        await expectRejects(f, re);
      });
    }

    it('10-bit and 4:4:4 files written by ffmpeg', async () => {
      const src = ['-f', 'lavfi', '-i', 'testsrc=size=16x16:rate=5', '-frames:v', '1'];
      ffmpeg([...src, '-pix_fmt', 'yuv420p10le', '-strict', '-1', '-f', 'yuv4mpegpipe', file('p10.y4m')]);
      ffmpeg([...src, '-pix_fmt', 'yuv444p', '-f', 'yuv4mpegpipe', file('444.y4m')]);
      await expectRejects(file('p10.y4m'), /"C420p10": only 4:2:0 8-bit is supported/);
      await expectRejects(file('444.y4m'), /"C444": only 4:2:0 8-bit is supported/);
    });

    it('a closed reader', async () => {
      const r = await openY4m(file('three.y4m'));
      await r.close();
      let err: unknown;
      await r.readFrame().catch((e: unknown) => (err = e));
      expect(err).to.be.instanceOf(Y4mFormatError);
    });
  });

  it('reads one frame at a time: frames are independent copies, null after the last', async () => {
    const r = await openY4m(file('three.y4m'));
    const a = await r.readFrame();
    const b = await r.readFrame();
    expect(a!.y.buffer).to.not.equal(b!.y.buffer);
    expect(r.framesRead).to.equal(2);
    expect(await r.readFrame()).to.not.equal(null);
    expect(await r.readFrame()).to.equal(null);
    await r.close();
  });
});
