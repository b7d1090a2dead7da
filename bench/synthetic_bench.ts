/**
 * Throughput of the synthetic Galaxy Zoo generator: `deno bench --allow-read --allow-write
 * --allow-env --allow-ffi bench/synthetic_bench.ts`. One iteration renders, encodes and writes 50
 * galaxies; divide by 50 for the per-image cost.
 */
import { generateSyntheticGalaxyZoo, sampleGalaxy } from "../lib/synthetic/mod.ts";

const dir = await Deno.makeTempDir({ prefix: "synthetic_bench_" });
let run = 0;

Deno.bench("synthetic: generate 50 galaxies (render + JPEG + write)", async () => {
  await generateSyntheticGalaxyZoo({ dir: `${dir}/${run++}`, count: 50, seed: run });
});

Deno.bench("synthetic: sample 50 label vectors (no rendering)", () => {
  for (let index = 0; index < 50; index++) sampleGalaxy(1, index);
});

globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
