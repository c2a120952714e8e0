import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { decodeGrayPng, encodeGrayPng, PngFormatError, readGrayPng, writeGrayPng } from '../../../src/io/png.js';

/** IHDR fields of a PNG file: bytes 16..25 (after the 8-byte signature and the chunk length/type). */
function ihdr(buf: Buffer): { width: number; height: number; bitDepth: number; colorType: number } {
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20), bitDepth: buf[24]!, colorType: buf[25]! };
}

/** A PNG of the given colour type from RGBA pixels, written by pngjs. */
function pngOf(rgba: number[], width: number, height: number, colorType: 0 | 2 | 4 | 6): Buffer {
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba);
  return PNG.sync.write(png, { colorType, inputColorType: 6, inputHasAlpha: true });
}

describe('io/png', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'maskstream-png-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes real 8-bit grayscale (colour type 0) and reads it back exactly', async () => {
    const w = 5, h = 3;
    const data = Uint8Array.from({ length: w * h }, (_, i) => (i * 17) & 255);
    const f = path.join(dir, 'gray.png');
    await writeGrayPng(f, data, w, h);
    expect(ihdr(readFileSync(f))).to.deep.equal({ width: 5, height: 3, bitDepth: 8, colorType: 0 });
    const back = await readGrayPng(f);
    expect([back.width, back.height]).to.deep.equal([5, 3]);
    expect(back.data).to.be.instanceOf(Uint8Array);
    expect([...back.data]).to.deep.equal([...data]);
  });

  it('encodes a subarray view without copying the rest of its buffer', () => {
    const big = Uint8Array.from({ length: 20 }, (_, i) => i);
    const img = decodeGrayPng(encodeGrayPng(big.subarray(4, 8), 2, 2));
    expect([...img.data]).to.deep.equal([4, 5, 6, 7]);
  });

  it('reads gray+alpha, RGB and RGBA as the first channel, ignoring alpha', () => {
    // Two pixels: (200, 10, 30, α 7) and (50, 250, 250, α 255).
    const rgba = [200, 10, 30, 7, 50, 250, 250, 255];
    const rgbPng = new PNG({ width: 2, height: 1 });
    rgbPng.data = Buffer.from([200, 10, 30, 50, 250, 250]);
    const rgb = PNG.sync.write(rgbPng, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
    expect(ihdr(rgb).colorType).to.equal(2);
    expect([...decodeGrayPng(rgb).data]).to.deep.equal([200, 50]); // RGB → red
    expect([...decodeGrayPng(pngOf(rgba, 2, 1, 6)).data]).to.deep.equal([200, 50]); // RGBA → red, alpha ignored
    // pngjs converts RGBA input to gray+alpha by averaging R, G, B: (200+10+30)/3 = 80, (50+250+250)/3 ≈ 183.
    const ga = pngOf(rgba, 2, 1, 4);
    expect(ihdr(ga).colorType).to.equal(4);
    expect([...decodeGrayPng(ga).data]).to.deep.equal([80, 183]);
  });

  it('reads 16-bit grayscale and paletted PNGs written by ffmpeg, scaled to 8 bits', () => {
    const png = (pixFmt: string, raw: Buffer, w: number, h: number, outFmt: string) => {
      const args = ['-v', 'error', '-f', 'rawvideo', '-pix_fmt', pixFmt, '-s', `${w}x${h}`, '-i', '-', '-frames:v', '1', '-pix_fmt', outFmt, '-f', 'image2pipe', '-c:v', 'png', '-'];
      const r = spawnSync('ffmpeg', args, { input: raw });
      if (r.status !== 0) throw new Error(r.stderr.toString());
      return r.stdout;
    };
    // 16-bit samples 65535, 32896 (0x8080), 0, 257 → × 255 / 65535 → 255, 128, 0, 1.
    const g16 = png('gray16be', Buffer.from([0xff, 0xff, 0x80, 0x80, 0, 0, 0x01, 0x01]), 2, 2, 'gray16be');
    expect(ihdr(g16)).to.include({ bitDepth: 16, colorType: 0 });
    expect([...decodeGrayPng(g16).data]).to.deep.equal([255, 128, 0, 1]);
    // ffmpeg quantises to its own fixed palette, so compare with the red it decodes the file to.
    const pal = png('rgb24', Buffer.from([200, 0, 0, 200, 0, 0, 0, 0, 0, 0, 0, 0]), 2, 2, 'pal8');
    expect(ihdr(pal).colorType).to.equal(3);
    const back = spawnSync('ffmpeg', ['-v', 'error', '-f', 'png_pipe', '-i', '-', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { input: pal }).stdout;
    const red = [0, 1, 2, 3].map((i) => back[i * 3]!);
    expect(red[0]).to.be.greaterThan(150);
    expect([...decodeGrayPng(pal).data]).to.deep.equal(red);
  });

  it('rejects what is not a PNG, naming the file', async () => {
    const f = path.join(dir, 'not.png');
    writeFileSync(f, 'definitely not a png');
    let err: unknown;
    await readGrayPng(f).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(PngFormatError);
    expect((err as Error).message).to.match(/not\.png is not a readable PNG/);
  });

  it('refuses data of the wrong size', () => {
    expect(() => encodeGrayPng(new Uint8Array(5), 2, 2)).to.throw(RangeError, /needs 4 bytes, got 5/);
    expect(() => encodeGrayPng(new Uint8Array(0), 0, 0)).to.throw(RangeError);
  });
});
