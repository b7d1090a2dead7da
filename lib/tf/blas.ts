/**
 * A system BLAS's single-precision matrix multiply (`cblas_sgemm`) through Deno's FFI, for the
 * convolution kernels in `kernels/conv_blas.ts`. Measured on the 2-core target: OpenBLAS runs the
 * ResNet-18 and course-CNN convolution GEMMs at 62-93 GFLOP/s per core, against 15-20 for
 * XNNPACK in WebAssembly (128-bit SIMD, no FMA); that gap is most of a training step.
 *
 * Optional by design: where no library loads (no OpenBLAS installed, no `--allow-ffi`) or the
 * user sets `GALAXY_ZOO_BLAS=off`, {@link loadBlas} says why and the kernels stay on XNNPACK.
 * `GALAXY_ZOO_BLAS=/path/to/lib` picks a library that exports the CBLAS interface.
 *
 * @module
 */

/** Row-major `C = alpha * op(A) * op(B) + beta * C`, op(X) = X or X^T. */
export interface Sgemm {
  (
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
  ): void;
}

/** A loaded BLAS. */
export interface Blas {
  /** What it is, for provenance: the library's own configuration string where it has one. */
  readonly name: string;
  readonly sgemm: Sgemm;
  /**
   * Sets the library's thread count, where it lets us (OpenBLAS does; process-wide). Results do
   * not depend on it: sgemm splits the output, never the summed dimension.
   */
  setThreads(n: number): void;
}

// CBLAS enum values.
const ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

const SGEMM = {
  parameters: [
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    "f32",
    "buffer",
    "i32",
    "buffer",
    "i32",
    "f32",
    "buffer",
    "i32",
  ],
  result: "void",
} as const;

/** Libraries tried in order when the user names none. */
function candidates(): string[] {
  switch (Deno.build.os) {
    case "darwin":
      return ["/System/Library/Frameworks/Accelerate.framework/Accelerate", "libopenblas.dylib"];
    case "windows":
      return ["libopenblas.dll", "openblas.dll"];
    default:
      // Debian/Ubuntu: libopenblas0-pthread (or -openmp / -serial) provides libopenblas.so.0.
      return ["libopenblas.so.0", "libopenblas.so"];
  }
}

function open(path: string): Blas {
  const lib = Deno.dlopen(path, {
    cblas_sgemm: SGEMM,
    openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
    openblas_get_config: { parameters: [], result: "pointer", optional: true },
  });
  const s = lib.symbols;
  const config = s.openblas_get_config?.();
  const name = config ? `${Deno.UnsafePointerView.getCString(config)} (${path})` : path;
  const sgemm: Sgemm = (ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) => {
    if (m === 0 || n === 0) return;
    s.cblas_sgemm(
      ROW_MAJOR,
      ta ? TRANS : NO_TRANS,
      tb ? TRANS : NO_TRANS,
      m,
      n,
      k,
      alpha,
      a,
      lda,
      b,
      ldb,
      beta,
      c,
      ldc,
    );
  };
  return { name, sgemm, setThreads: (n) => s.openblas_set_num_threads?.(n) };
}

let loaded: { blas: Blas | null; why: string } | undefined;

/**
 * The BLAS to use, loaded once per thread (workers load their own handle of the same library),
 * or null with the reason in {@link blasStatus}.
 */
export function loadBlas(): Blas | null {
  if (loaded) return loaded.blas;
  let setting: string | undefined;
  try {
    setting = Deno.env.get("GALAXY_ZOO_BLAS")?.trim() || undefined;
  } catch {
    setting = undefined; // no --allow-env: use the defaults
  }
  if (setting === "off") {
    loaded = { blas: null, why: "GALAXY_ZOO_BLAS=off" };
    return null;
  }
  const errors: string[] = [];
  for (const path of setting ? [setting] : candidates()) {
    try {
      const blas = open(path);
      // One thread per caller: the trainer runs a worker per core, and results stay independent
      // of how many there are.
      blas.setThreads(1);
      loaded = { blas, why: blas.name };
      return blas;
    } catch (err) {
      errors.push(`${path}: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
    }
  }
  loaded = { blas: null, why: `no BLAS library loaded (${errors.join("; ")})` };
  return null;
}

/** The loaded library's name, or why none loaded. */
export function blasStatus(): string {
  loadBlas();
  return loaded!.why;
}
