/** A decoded picture in planar 4:2:0, as copied out of a WebCodecs VideoFrame. */
export interface I420Picture {
  readonly width: number;
  readonly height: number;
  /** Planes and their strides (bytes per row). */
  readonly y: Uint8Array;
  readonly u: Uint8Array;
  readonly v: Uint8Array;
  readonly yStride: number;
  readonly uvStride: number;
}

/** An RGB image, 3 bytes per pixel, row-major, no padding. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}
