/**
 * `deno task bench [name ...]`: runs the benchmarks one after another, each in its own process
 * (so one's memory peak doesn't colour the next). Speed and memory targets are checked here,
 * never in timed tests. Extra flags after `--` go to every benchmark (e.g. `-- --full`).
 *
 * @module
 */
import { join } from "node:path";

/** Each benchmark script, what it measures and against what. */
export const BENCHMARKS: Record<string, { file: string; what: string; deno?: "bench" }> = {
  preprocess: {
    file: "preprocess_bench.ts",
    what: "Step 2 images/s and peak memory, side by side with Python's PIL",
  },
  kernels: { file: "kernels_bench.ts", what: "conv-gradient kernels and course-CNN training per backend" },
  train: {
    file: "train_bench.ts",
    what: "training images/s of the course CNN and ResNet-18 against PyTorch",
  },
  memory: { file: "memory_bench.ts", what: "peak memory of training the course CNN on 61,578 galaxies" },
  render: { file: "render_bench.ts", what: "re-rendering the report when only a template changed" },
  synthetic: { file: "synthetic_bench.ts", what: "synthetic Galaxy Zoo generation", deno: "bench" },
  gpu: { file: "gpu_check.ts", what: "each GPU backend that loads: images/s and losses against wasm" },
};

const PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-ffi",
  "--allow-sys",
  "--allow-run",
];

if (import.meta.main) {
  const split = Deno.args.indexOf("--");
  const names = split >= 0 ? Deno.args.slice(0, split) : Deno.args;
  const extra = split >= 0 ? Deno.args.slice(split + 1) : [];
  const unknown = names.filter((n) => !(n in BENCHMARKS));
  if (unknown.length > 0) {
    console.error(
      `Unknown benchmark ${unknown.join(", ")}; choose from ${Object.keys(BENCHMARKS).join(", ")}`,
    );
    Deno.exit(2);
  }
  let failed = 0;
  for (const name of names.length > 0 ? names : Object.keys(BENCHMARKS)) {
    const bench = BENCHMARKS[name];
    const path = join(import.meta.dirname!, bench.file);
    try {
      await Deno.stat(path);
    } catch {
      console.log(`\n## ${name}: ${bench.what}\n(not written yet: ${bench.file})`);
      continue;
    }
    console.log(`\n## ${name}: ${bench.what}`);
    const args = bench.deno === "bench"
      ? ["bench", ...PERMISSIONS, path]
      : ["run", ...PERMISSIONS, path, ...extra];
    const { code } = await new Deno.Command(Deno.execPath(), { args, stdout: "inherit", stderr: "inherit" })
      .output();
    if (code !== 0) failed++;
  }
  Deno.exit(failed > 0 ? 1 : 0);
}
