/**
 * Pure index arithmetic that turns the two convolution gradients into plain forward
 * convolutions. Kept apart from any backend so it can be reasoned about (and tested) alone.
 *
 * Notation for one spatial axis: the forward convolution reads `x[o * s + k - padBefore]`
 * for output `o` in `[0, out)` and tap `k` in `[0, kernel)`.
 *
 * @module
 */

/** One spatial axis of a forward convolution (stride `s`, no dilation). */
export interface Axis {
  /** Input length. */
  readonly input: number;
  /** Output length (what the forward pass produced, i.e. dy's length). */
  readonly out: number;
  readonly kernel: number;
  readonly stride: number;
  /** Padding before the first input element (`padInfo.top` / `padInfo.left`). */
  readonly padBefore: number;
}

/**
 * Filter gradient along one axis as a forward convolution of the padded input with dy as the
 * filter dilated by the stride: `dW[k] = sum_o xpad[k + s * o] * dy[o]`.
 *
 * The forward "valid" output must be exactly `kernel` long, so the padding after is what makes it
 * so. When that is negative the input has trailing rows the forward pass never read (stride > 1
 * or a large bottom pad); they are cropped instead (`keep` < `input`).
 */
export function filterGradAxis(
  a: Axis,
): { padBefore: number; padAfter: number; keep: number } {
  const padAfter = a.kernel + a.stride * (a.out - 1) - a.input - a.padBefore;
  if (padAfter >= 0) return { padBefore: a.padBefore, padAfter, keep: a.input };
  return { padBefore: a.padBefore, padAfter: 0, keep: a.input + padAfter };
}

/**
 * Input gradient along one axis as a stride-1 "valid" correlation with the flipped filter of
 * dy dilated by the stride (zeros between rows) and padded:
 * `dx[i] = sum_j dyd[i + j - padBefore] * wflip[j]`, `padBefore = kernel - 1 - forwardPadBefore`.
 *
 * Either padding can come out negative (an explicit forward pad larger than kernel - 1): then
 * the leading/trailing dilated rows fall outside the input and are dropped.
 */
export function inputGradAxis(
  a: Axis,
): { padBefore: number; padAfter: number; dilatedLength: number } {
  const dilatedLength = (a.out - 1) * a.stride + 1;
  const padBefore = a.kernel - 1 - a.padBefore;
  const padAfter = a.input + a.padBefore - dilatedLength;
  return { padBefore, padAfter, dilatedLength };
}

/**
 * One phase of the input gradient along one axis (sub-pixel decomposition). The inputs
 * `i = stride * m + phase - padBefore` take only the taps `k = phase + stride * t`, so their
 * gradient is a stride-1 correlation of the un-spread dy with that sub-filter flipped:
 * `dx[i] = sum_u dy[m - taps + 1 + u] * w[phase + stride * (taps - 1 - u)]`.
 *
 * Returns the sub-filter length `taps` (0: no tap reaches this phase, its inputs get zero), the
 * range `[first, last]` of m that lands inside the input, and the stride-1 convolution's paddings
 * of dy; its output `n` is `m = n + offset`. Paddings never go negative: outputs outside
 * `[first, last]` are then computed and dropped.
 */
export function inputGradPhase(
  a: Axis,
  phase: number,
): { taps: number; first: number; last: number; padBefore: number; padAfter: number; offset: number } {
  const taps = phase < a.kernel ? Math.ceil((a.kernel - phase) / a.stride) : 0;
  const first = Math.ceil((a.padBefore - phase) / a.stride);
  const last = Math.floor((a.input - 1 + a.padBefore - phase) / a.stride);
  const padBefore = Math.max(0, taps - 1 - first);
  let padAfter = Math.max(0, last - a.out + 1);
  // At least one output.
  padAfter = Math.max(padAfter, taps - a.out - padBefore);
  return { taps, first, last, padBefore, padAfter, offset: taps - 1 - padBefore };
}
