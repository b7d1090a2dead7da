/**
 * Which of our training kernels (convolutions and their gradients, batch norm, Adam, pooling,
 * padding) replace or add to which stock ones, per backend, and the explicit functions that (un)do
 * it. Nothing happens at import: the app calls {@link registerFastKernels} once it has chosen a
 * backend (selectBackend does).
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
import { makePadKernel, makeSliceKernel } from "./pad_slice.ts";
import {
  BATCH_NORM_TRAINING,
  BATCH_NORM_TRAINING_GRAD,
  makeBatchNormTrainingGradKernel,
  makeBatchNormTrainingKernel,
  registerBatchNormTrainingGradient,
} from "./batch_norm.ts";
import { type Blas, loadBlas } from "../blas.ts";
import { makeBlasConvKernels } from "./conv_blas.ts";
import { makeBlasMatMulKernels } from "./matmul_blas.ts";

/**
 * Builds our kernel function given the backend, the stock kernel it replaces (if any) and a way to
 * reach the backend's other stock kernels.
 */
type Factory = (
  backendName: string,
  stock: tf.KernelFunc | undefined,
  stockOf: (kernelName: string) => tf.KernelFunc | undefined,
) => tf.KernelFunc;

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
    // Zero padding around the course CNN's convolutions and its gradient: element by element.
    [tf.PadV2]: makePadKernel,
    [tf.Slice]: makeSliceKernel,
    // Copies of every tensor saved for the backward pass; cpu shares memory already.
    [tf.Identity]: makeIdentityKernel,
    [tf.Cast]: makeCastKernel,
    // Ours alone: Adam's update in one pass (lib/train/adam.ts uses it where registered), and
    // training-mode BatchNorm in five passes instead of some twenty kernels
    // (lib/train/_fast_paths.ts uses it).
    [ADAM_KERNEL]: makeAdamKernel,
    [BATCH_NORM_TRAINING]: makeBatchNormTrainingKernel,
    [BATCH_NORM_TRAINING_GRAD]: makeBatchNormTrainingGradKernel,
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
    [BATCH_NORM_TRAINING]: makeBatchNormTrainingKernel,
    [BATCH_NORM_TRAINING_GRAD]: makeBatchNormTrainingGradKernel,
  },
};

/**
 * With a BLAS, every convolution (forward and both gradients) becomes im2col + sgemm, 3-5x the
 * rate of XNNPACK's forward convolution on the shapes of both models. Cases the BLAS kernels
 * leave alone (NCHW, non-float) go to the kernels the plan above would use.
 */
function blasPlan(blas: Blas): Record<string, Factory> {
  const kernels = (name: string, stockOf: (k: string) => tf.KernelFunc | undefined) => {
    const grads = makeConvGradKernels(name);
    return makeBlasConvKernels(
      name,
      blas,
      (k) =>
        k === tf.Conv2DBackpropFilter
          ? grads.filter
          : k === tf.Conv2DBackpropInput
          ? grads.input
          : stockOf(k),
    );
  };
  return {
    [tf.Conv2D]: (name, _stock, stockOf) => kernels(name, stockOf).conv2d,
    [tf.FusedConv2D]: (name, _stock, stockOf) => kernels(name, stockOf).fusedConv2d,
    [tf.Conv2DBackpropFilter]: (name, _stock, stockOf) => kernels(name, stockOf).filter,
    [tf.Conv2DBackpropInput]: (name, _stock, stockOf) => kernels(name, stockOf).input,
    [tf.BatchMatMul]: (name, _stock, stockOf) => makeBlasMatMulKernels(name, blas, stockOf).batchMatMul,
    [tf._FusedMatMul]: (name, _stock, stockOf) => makeBlasMatMulKernels(name, blas, stockOf).fusedMatMul,
  };
}

function planFor(backendName: string, blas: Blas | null): Record<string, Factory> {
  const plan = PLAN[backendName];
  if (plan == null) return {};
  return blas ? { ...plan, ...blasPlan(blas) } : plan;
}

// Tags our kernel functions with the variant ("blas" or "js") that built them, so registering
// twice is a no-op, switching variants re-registers, and restore knows what it replaced.
const OURS = Symbol.for("galaxy-zoo.fastKernel");
type Variant = "blas" | "js";
const variantOf = (k: tf.KernelConfig | undefined): Variant | undefined =>
  (k?.kernelFunc as unknown as Record<symbol, Variant> | undefined)?.[OURS];

// The stock configs we unregistered, so tests and benchmarks can go back to them. This mirrors
// state that already lives in tfjs's global kernel registry; it is filled only by calls.
const stock = new Map<string, tf.KernelConfig>();

/** True when our version of `kernelName` is the one registered for `backendName`. */
export function isFastKernel(kernelName: string, backendName: string): boolean {
  return variantOf(tf.getKernel(kernelName, backendName)) !== undefined;
}

/** True when the convolutions of `backendName` run through a BLAS (see `../blas.ts`). */
export function usesBlas(backendName: string): boolean {
  return variantOf(tf.getKernel(tf.Conv2D, backendName)) === "blas";
}

/** Options of {@link registerFastKernels}. */
export interface FastKernelOptions {
  /** Convolutions through a BLAS where one loads (default true). */
  blas?: boolean;
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
 * registerFastKernels("cpu", { blas: false }); // ["Conv2DBackpropFilter", ..., "GalaxyZooAdam"]
 * ```
 */
export function registerFastKernels(backendName: string, options: FastKernelOptions = {}): string[] {
  const blas = options.blas === false || PLAN[backendName] == null ? null : loadBlas();
  const variant: Variant = blas ? "blas" : "js";
  const plan = planFor(backendName, blas);
  const current = Object.keys(plan).map((name) => variantOf(tf.getKernel(name, backendName)));
  if (current.every((v) => v === variant)) return Object.keys(plan);
  restoreStockKernels(backendName);
  registerBatchNormTrainingGradient();
  // Looked up when a kernel runs, by then ours may be the registered one.
  const stockOf = (name: string) => {
    const saved = stock.get(`${backendName}/${name}`);
    if (saved != null) return saved.kernelFunc;
    const k = tf.getKernel(name, backendName);
    return variantOf(k) === undefined ? k?.kernelFunc : undefined;
  };
  for (const [name, factory] of Object.entries(plan)) {
    const existing = tf.getKernel(name, backendName);
    if (existing != null) {
      stock.set(`${backendName}/${name}`, existing);
      tf.unregisterKernel(name, backendName);
    }
    const kernelFunc = factory(backendName, existing?.kernelFunc, stockOf);
    (kernelFunc as unknown as Record<symbol, Variant>)[OURS] = variant;
    tf.registerKernel({ kernelName: name, backendName, kernelFunc });
  }
  return Object.keys(plan);
}

/**
 * Undoes {@link registerFastKernels}: puts back the stock kernels we replaced and removes the
 * ones the backend never had. For tests and benchmarks that compare against tfjs itself.
 */
export function restoreStockKernels(backendName: string): void {
  for (const { kernelName } of tf.getKernelsForBackend(backendName)) {
    if (!isFastKernel(kernelName, backendName)) continue;
    tf.unregisterKernel(kernelName, backendName);
    const original = stock.get(`${backendName}/${kernelName}`);
    if (original != null) tf.registerKernel(original);
  }
}
