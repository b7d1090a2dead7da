/**
 * Chooses the TensorFlow.js backend for this machine, explicitly, when the app asks: native
 * TensorFlow (GPU, then CPU) -> WebGPU on a real GPU -> WASM (SIMD) -> plain JS cpu, the last two
 * with our convolution-gradient kernels installed. Every package is imported dynamically here,
 * so importing this module has no effect, and all of them resolve `@tensorflow/tfjs-core` through
 * the one import map entry, hence one engine and one kernel registry.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { blasStatus } from "./blas.ts";
import { registerFastKernels, restoreStockKernels, usesBlas } from "./kernels/mod.ts";

export { isFastKernel, registerFastKernels, restoreStockKernels, usesBlas } from "./kernels/mod.ts";

/** What the user may ask for (`--backend`). "tensorflow" means tfjs-node-gpu, then tfjs-node. */
export type BackendRequest = "auto" | "tensorflow" | "webgpu" | "wasm" | "cpu";

export const BACKEND_REQUESTS: readonly BackendRequest[] = [
  "auto",
  "tensorflow",
  "webgpu",
  "wasm",
  "cpu",
];

/** The outcome of {@link selectBackend}, written into manifests and the report appendix. */
export interface BackendChoice {
  /** `tf.getBackend()` after selection: "tensorflow", "webgpu", "wasm" or "cpu". */
  name: string;
  requested: string;
  /** Why this one: a sentence for the log and the report. */
  reason: string;
  /** Candidates tried before it, with the short reason each failed. */
  skipped: { name: string; why: string }[];
  /** Package versions in use, plus facts such as wasm SIMD and which kernels are ours. */
  versions: Record<string, string>;
}

/** One candidate: `load` resolves to extra version facts or throws why it cannot be used. */
interface Candidate {
  /** Name used in `skipped` (the package or feature). */
  label: string;
  load: () => Promise<Record<string, string>>;
}

function shortMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const line = text.split("\n").find((l) => l.trim() !== "") ?? text;
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

async function activate(name: string): Promise<void> {
  // setBackend reports a failed initialization as `false` (after a console warning), not a throw.
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) {
    throw new Error(`tf.setBackend('${name}') failed to initialize`);
  }
  await tf.ready();
}

/**
 * A failed tfjs-node(-gpu) import has already registered its "tensorflow" kernels (the binding
 * is loaded after them); drop them so the next native package starts clean instead of printing a
 * warning per kernel, and so nothing half-loaded stays registered.
 */
function forgetNativeBackend(): void {
  if (tf.getBackend() === "tensorflow") return;
  for (const k of tf.getKernelsForBackend("tensorflow")) tf.unregisterKernel(k.kernelName, "tensorflow");
  if (tf.findBackendFactory("tensorflow") != null) tf.removeBackend("tensorflow");
}

function nativeCandidate(
  pkg: "@tensorflow/tfjs-node-gpu" | "@tensorflow/tfjs-node",
): Candidate {
  return {
    label: pkg.replace("@tensorflow/", ""),
    load: async () => {
      // Registers the "tensorflow" backend on the shared engine; throws here when libtensorflow
      // (tfjs_binding.node) is absent, which is the normal case under Deno.
      let mod: unknown;
      try {
        mod = pkg === "@tensorflow/tfjs-node-gpu"
          ? await import("@tensorflow/tfjs-node-gpu")
          : await import("@tensorflow/tfjs-node");
        await activate("tensorflow");
      } catch (err) {
        forgetNativeBackend();
        throw err;
      }
      const v = (mod as { version?: Record<string, string> }).version ?? {};
      return { [pkg.replace("@tensorflow/", "")]: v["tfjs-node"] ?? "unknown" };
    },
  };
}

/** A real GPU adapter, or why not; llvmpipe/SwiftShader report isFallbackAdapter. */
async function realGpuAdapter(): Promise<string> {
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (gpu == null) throw new Error("navigator.gpu is not available");
  const adapter = await gpu.requestAdapter() as
    | {
      info?: {
        isFallbackAdapter?: boolean;
        description?: string;
        vendor?: string;
      };
    }
    | null;
  if (adapter == null) throw new Error("no WebGPU adapter");
  const info = adapter.info ?? {};
  const description = info.description || info.vendor || "unknown adapter";
  const software = /llvmpipe|swiftshader|lavapipe|softpipe|warp/i.test(
    description,
  );
  if (info.isFallbackAdapter === true || software) {
    throw new Error(`only a software adapter (${description}), not a real GPU`);
  }
  return description;
}

const webgpuCandidate: Candidate = {
  label: "webgpu",
  load: async () => {
    const adapter = await realGpuAdapter();
    await import("@tensorflow/tfjs-backend-webgpu");
    await activate("webgpu");
    return {
      // The webgpu package exports no version constant; it is released in lockstep with core.
      "tfjs-backend-webgpu": tf.version_core,
      "webgpu-adapter": adapter,
    };
  },
};

const wasmCandidate: Candidate = {
  label: "wasm",
  load: async () => {
    const mod = await import("@tensorflow/tfjs-backend-wasm");
    await activate("wasm");
    const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
    const threads = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
    return {
      "tfjs-backend-wasm": mod.version_wasm,
      "wasm-simd": String(simd),
      "wasm-threads": String(threads),
      "fast-kernels": registerFastKernels("wasm").join(",") || "none",
      blas: usesBlas("wasm") ? blasStatus() : `none: ${blasStatus()}`,
    };
  },
};

const cpuCandidate: Candidate = {
  label: "cpu",
  load: async () => {
    const mod = await import("@tensorflow/tfjs-backend-cpu");
    await activate("cpu");
    return {
      "tfjs-backend-cpu": mod.version_cpu,
      "fast-kernels": registerFastKernels("cpu").join(",") || "none",
      blas: usesBlas("cpu") ? blasStatus() : `none: ${blasStatus()}`,
    };
  },
};

function candidatesFor(requested: BackendRequest): Candidate[] {
  const native = [
    nativeCandidate("@tensorflow/tfjs-node-gpu"),
    nativeCandidate("@tensorflow/tfjs-node"),
  ];
  switch (requested) {
    case "auto":
      return [...native, webgpuCandidate, wasmCandidate, cpuCandidate];
    case "tensorflow":
      return native;
    case "webgpu":
      return [webgpuCandidate];
    case "wasm":
      return [wasmCandidate];
    case "cpu":
      return [cpuCandidate];
    default:
      throw new Error(
        `Unknown backend '${requested}': expected one of ${BACKEND_REQUESTS.join(", ")}`,
      );
  }
}

/**
 * Selects and initializes the backend. With "auto" the first candidate that loads wins and the
 * others are recorded in `skipped`; an explicit request that cannot load throws an error naming
 * why, never falling back silently.
 *
 * @example
 * ```ts ignore
 * const choice = await selectBackend("auto", console.log);
 * // choice.name === "wasm", choice.skipped names tfjs-node-gpu, tfjs-node and webgpu
 * ```
 */
export async function selectBackend(
  requested: BackendRequest,
  log: (line: string) => void = () => {},
): Promise<BackendChoice> {
  const skipped: { name: string; why: string }[] = [];
  for (const candidate of candidatesFor(requested)) {
    try {
      const facts = await candidate.load();
      const name = tf.getBackend();
      const versions = { "tfjs-core": tf.version_core, ...facts };
      const reason = requested === "auto"
        ? skipped.length === 0
          ? `${name}: first choice available`
          : `${name}: first that loaded after ${skipped.map((s) => s.name).join(", ")}`
        : `${name}: requested explicitly`;
      log(`backend ${name} (${reason})`);
      return { name, requested, reason, skipped, versions };
    } catch (err) {
      const why = shortMessage(err);
      skipped.push({ name: candidate.label, why });
      log(`backend ${candidate.label} skipped: ${why}`);
    }
  }
  const details = skipped.map((s) => `${s.name}: ${s.why}`).join("; ");
  throw new Error(`Cannot use backend '${requested}': ${details}`);
}

/**
 * Switches to an already-loadable JS backend without the fallback chain, with our kernels on or
 * off: for tests and benchmarks that compare against stock tfjs. Cheap after the first call.
 */
export async function useBackend(
  name: "wasm" | "cpu",
  options: { fastKernels: boolean; blas?: boolean },
): Promise<void> {
  if (name === "wasm") await import("@tensorflow/tfjs-backend-wasm");
  else await import("@tensorflow/tfjs-backend-cpu");
  if (tf.getBackend() !== name) await activate(name);
  if (options.fastKernels) registerFastKernels(name, { blas: options.blas });
  else restoreStockKernels(name);
}
