/**
 * The course's crop geometry and the types both preprocessing backends share.
 *
 * @module
 */

export interface PreprocessOptions {
  /** Side of the centred square kept, in source pixels. */
  crop: number;
  /** Side of the output square. */
  size: number;
}

/** One preprocessed image: `size` x `size` x 3 RGB bytes, row-major. */
export interface Preprocessed {
  rgb: Uint8Array;
  width: number;
  height: number;
}

/** An image too small for the crop: readable, but not the shape the course expects. */
export class ImageTooSmallError extends Error {
  override name = "ImageTooSmallError";
}

/** The top-left corner of the centred `crop` square; throws `ImageTooSmallError` if it doesn't fit. */
export function centerCrop(width: number, height: number, crop: number): { left: number; top: number } {
  if (width < crop || height < crop) {
    throw new ImageTooSmallError(`image is ${width}x${height}, smaller than the ${crop}x${crop} crop`);
  }
  return { left: Math.floor((width - crop) / 2), top: Math.floor((height - crop) / 2) };
}
