/**
 * Which of our convolution-gradient kernels replace which stock ones, per backend, and the
 * explicit functions that (un)do it. Nothing happens at import: the app calls
 * {@link registerFastKernels} once it has chosen a backend (selectBackend does).
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { ADAM_KERNEL, makeAdamKernel } from "./adam.ts";
import { makeBinaryKernel } from "./binary.ts";
import { makeConvGradKernels } from "./conv_grads.ts";
import { makeWasmBatchMatMul } from "./matmul_wasm.ts";
import { makeMaxPoolGradKernel } from "./pool.ts";
import { makeReduceKernel } from "./reduce.ts";
import { makeCastKernel, makeIdentityKernel } from "./share.ts";
import { makeTileKernel } from "./tile.ts";

/** Builds our kernel function given the backend and the stock kernel it replaces (if any). */
type Factory = (backendName: string, stock: tf.KernelFunc | undefined) => tf.KernelFunc;

const convFilter: Factory = (name) => makeConvGradKernels(name).filter;
const convInput: Factory = (name) => makeConvGradKernels(name).input;
const tile: Factory = makeTileKernel;
const sum: Factory = (name, stock) => makeReduceKernel("Sum", name, stock);
const mean: Factory = (name, stock) => makeReduceKernel("Mean", name, stock);
const maxPoolGrad: Factory = makeMaxPoolGradKernel;
const mul: Factory = (name, stock) => makeBinaryKernel("Multiply", name, stock);
const add: Factory = (name, stock) => makeBinaryKernel("Add", name, stock);
const sub: Factory = (name, stock) => makeBinaryKernel("Sub", name, stock);

/** Kernels we replace (or add, where the backend lacks them), per backend, chosen by measurement. */
const PLAN: Record<string, Record<string, Factory>> = {
  // wasm has no Conv2DBackpropFilter at all; its Conv2DBackpropInput is a scalar C++ loop while
  // Conv2D runs in XNNPACK, so both go through Conv2D. Tile and transposed BatchMatMul were a
  // quarter and a tenth of a course-CNN step.
  wasm: {
    [tf.Conv2DBackpropFilter]: convFilter,
    [tf.Conv2DBackpropInput]: convInput,
    [tf.Tile]: tile,
    [tf.BatchMatMul]: (_name, stock) => makeWasmBatchMatMul(stock),
    // BatchNorm reduces over [0, 1, 2]; the stock kernels transpose the activation first.
    [tf.Sum]: sum,
    [tf.Mean]: mean,
    // BatchNorm's per-channel broadcasts (moments and gradient): XNNPACK loops per C-element row.
    [tf.Multiply]: mul,
    [tf.Add]: add,
    [tf.Sub]: sub,
    // The stock kernel tests every input against every window: 88 ms of a 650 ms course-CNN step.
    [tf.MaxPoolGrad]: maxPoolGrad,
    // Copies of every tensor saved for the backward pass; cpu shares memory already.
    [tf.Identity]: makeIdentityKernel,
    [tf.Cast]: makeCastKernel,
    // Ours alone: Adam's update in one pass (lib/train/adam.ts uses it where registered).
    [ADAM_KERNEL]: makeAdamKernel,
  },
  // cpu's stock filter gradient is ~90% of a training step; its forward Conv2D is a tighter loop.
  cpu: {
    [tf.Conv2DBackpropFilter]: convFilter,
    [tf.Conv2DBackpropInput]: convInput,
    [tf.Tile]: tile,
    [tf.Sum]: sum,
    [tf.Mean]: mean,
    [tf.Multiply]: mul,
    [tf.Add]: add,
    [tf.Sub]: sub,
    [tf.MaxPoolGrad]: maxPoolGrad,
    [ADAM_KERNEL]: makeAdamKernel,
  },
};

// Tags our kernel functions, so registering twice is a no-op and restore knows what it replaces.
const OURS = Symbol.for("galaxy-zoo.fastKernel");

// The stock configs we unregistered, so tests and benchmarks can go back to them. This mirrors
// state that already lives in tfjs's global kernel registry; it is filled only by calls.
const stock = new Map<string, tf.KernelConfig>();

/** Names of the kernels {@link registerFastKernels} would install on `backendName`. */
export function fastKernelNames(backendName: string): readonly string[] {
  return Object.keys(PLAN[backendName] ?? {});
}

/** True when our version of `kernelName` is the one registered for `backendName`. */
export function isFastKernel(kernelName: string, backendName: string): boolean {
  const k = tf.getKernel(kernelName, backendName);
  return k != null && (k.kernelFunc as unknown as Record<symbol, boolean>)[OURS] === true;
}

/**
 * Installs our kernels for `backendName` (replacing stock ones where the plan says so).
 * Idempotent. Returns the kernel names that are ours afterwards; an empty list for backends
 * without a plan (tensorflow, webgpu keep their own).
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu"; // registers the stock cpu kernels ours replace
 * import { registerFastKernels } from "./mod.ts";
 * registerFastKernels("cpu"); // ["Conv2DBackpropFilter", ..., "MaxPoolGrad", "GalaxyZooAdam"]
 * ```
 */
export function registerFastKernels(backendName: string): string[] {
  const plan = PLAN[backendName] ?? {};
  for (const [name, factory] of Object.entries(plan)) {
    if (isFastKernel(name, backendName)) continue;
    const existing = tf.getKernel(name, backendName);
    if (existing != null) {
      stock.set(`${backendName}/${name}`, existing);
      tf.unregisterKernel(name, backendName);
    }
    const kernelFunc = factory(backendName, existing?.kernelFunc);
    (kernelFunc as unknown as Record<symbol, boolean>)[OURS] = true;
    tf.registerKernel({ kernelName: name, backendName, kernelFunc });
  }
  return Object.keys(plan);
}

/**
 * Undoes {@link registerFastKernels}: puts back the stock kernels we replaced and removes the
 * ones the backend never had. For tests and benchmarks that compare against tfjs itself.
 */
export function restoreStockKernels(backendName: string): void {
  for (const name of fastKernelNames(backendName)) {
    if (!isFastKernel(name, backendName)) continue;
    tf.unregisterKernel(name, backendName);
    const original = stock.get(`${backendName}/${name}`);
    if (original != null) tf.registerKernel(original);
  }
}
