/**
 * Connected regions of "person" on a grid (4-connected), with their bounding boxes and areas:
 * where the region-of-interest stage finds each person (or group of touching people) in the
 * backbone's prediction. Pure; one pass with a preallocated label array and stack.
 */

/** A region of the grid: inclusive-exclusive box in grid cells, and its area in cells. */
export interface GridRegion {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
  readonly area: number;
}

export class ComponentFinder {
  private labels: Int32Array;
  private stack: Int32Array;

  constructor(
    private readonly width: number,
    private readonly height: number,
  ) {
    this.labels = new Int32Array(width * height);
    this.stack = new Int32Array(width * height);
  }

  /** Regions of cells with `values[i] ≥ threshold` of at least `minArea` cells, largest first. */
  find(values: Float32Array | Uint8Array, threshold: number, minArea: number): GridRegion[] {
    const W = this.width;
    const H = this.height;
    if (values.length !== W * H) throw new RangeError(`grid has ${values.length} cells, expected ${W}×${H}`);
    const labels = this.labels;
    labels.fill(0);
    const stack = this.stack;
    const out: GridRegion[] = [];
    let next = 1;
    for (let start = 0; start < W * H; start++) {
      if (labels[start] !== 0 || !(values[start]! >= threshold)) continue;
      const label = next++;
      let sp = 0;
      stack[sp++] = start;
      labels[start] = label;
      let x0 = W, y0 = H, x1 = -1, y1 = -1, area = 0;
      while (sp > 0) {
        const i = stack[--sp]!;
        const y = (i / W) | 0;
        const x = i - y * W;
        area++;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
        // Neighbours: left, right, up, down.
        if (x > 0 && labels[i - 1] === 0 && values[i - 1]! >= threshold) (labels[i - 1] = label), (stack[sp++] = i - 1);
        if (x < W - 1 && labels[i + 1] === 0 && values[i + 1]! >= threshold) (labels[i + 1] = label), (stack[sp++] = i + 1);
        if (y > 0 && labels[i - W] === 0 && values[i - W]! >= threshold) (labels[i - W] = label), (stack[sp++] = i - W);
        if (y < H - 1 && labels[i + W] === 0 && values[i + W]! >= threshold) (labels[i + W] = label), (stack[sp++] = i + W);
      }
      if (area >= minArea) out.push({ x0, y0, x1: x1 + 1, y1: y1 + 1, area });
    }
    return out.sort((a, b) => b.area - a.area);
  }
}
