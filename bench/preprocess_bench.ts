/**
 * Step 2's speed and memory, side by side with Python's PIL doing the same work on the same files:
 * open, centre crop 212, resize to 64 with Lanczos, keep the RGB bytes in a packed file, save a
 * q90 JPEG. `deno task bench preprocess` uses 600 synthetic galaxies plus the 700 real JPEGs of
 * /work/shared/galaxy-zoo-sample when present; `deno task bench preprocess -- --full` also runs
 * 61,578 synthetic galaxies (generated once into cache/bench/synthetic-61578/, ~10 minutes).
 *
 *   deno run --allow-read --allow-write --allow-env --allow-ffi --allow-sys --allow-run \
 *     bench/preprocess_bench.ts [--full] [--count 600] [--repeat 3] [--sample DIR]
 *
 * Every measured run is its own process (under /usr/bin/time when present, for the exact peak
 * RSS), so one run's memory and libvips state don't colour the next. PIL is the peer to beat, run
 * with Debian's /usr/bin/python3 (python3-pil), not part of the product. Step 2 runs libjpeg-turbo
 * (libturbojpeg0) through FFI; the sharp fallback is measured beside it. The pixel differences
 * printed are mean |difference| per byte over the packed files (0 = the same bytes).
 */
import { join, resolve } from "node:path";
import sharp from "sharp";
import { generateSyntheticGalaxyZoo } from "../lib/synthetic/mod.ts";
import {
  batchThreads,
  createPreprocessor,
  type ImageJob,
  openPreprocessor,
  preprocessToPacked,
} from "../lib/images/preprocess.ts";

const PYTHON = "/usr/bin/python3";
const TIME = "/usr/bin/time";
const FULL_COUNT = 61_578;
const ROOT = resolve(import.meta.dirname!, "..");
const PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-ffi",
  "--allow-sys",
  "--allow-run",
];

/** One way of running Step 2's image work, in a child process. */
interface Variant {
  name: string;
  /** `step` is the library as Step 2 calls it; `pil` the peer. */
  kind: "step" | "pil";
  /** `turbo`: libjpeg-turbo (an error if it doesn't load); `sharp`: the fallback. */
  backend?: "turbo" | "sharp";
  /** Threads as Step 2 picks them (`batchThreads`) unless given. */
  workers?: number;
  inFlight?: number;
  draft?: boolean;
}

const STEP: Variant = {
  name: "Step 2 as shipped: libjpeg-turbo, a worker per core",
  kind: "step",
  backend: "turbo",
};
const SHARP: Variant = {
  name: "sharp fallback: this thread, 8 in flight",
  kind: "step",
  backend: "sharp",
  workers: 0,
  inFlight: 8,
};
const PIL: Variant = { name: "PIL LANCZOS, 1 thread", kind: "pil", draft: false };
const PIL_DRAFT: Variant = { name: "PIL draft() + LANCZOS, 1 thread", kind: "pil", draft: true };

const VARIANTS: Variant[] = [
  STEP,
  { name: "libjpeg-turbo, this thread", kind: "step", backend: "turbo", workers: 0, inFlight: 1 },
  {
    name: "libjpeg-turbo, 1 worker, batches of 16",
    kind: "step",
    backend: "turbo",
    workers: 1,
    inFlight: 16,
  },
  SHARP,
  PIL,
  PIL_DRAFT,
];

/** What a child reports. */
interface Measured {
  images: number;
  failed: number;
  seconds: number;
  /** Largest `Deno.memoryUsage().rss` seen every 50 ms (Deno children only). */
  sampledRss?: number;
  /** From /usr/bin/time: the process's peak resident set. */
  peakRss?: number;
  packed: string;
}

// The peer: the same work in PIL. `draft` is PIL's JPEG shrink-on-load (DCT scaling), the same
// lever sharp pulls; the crop box is then scaled to the drafted size.
const PIL_SCRIPT = `
import json, os, sys, time
from PIL import Image
src, out, packed_path, draft = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
crop, size = 212, 64
names = sorted(n for n in os.listdir(src) if n.endswith(".jpg"))
t0 = time.perf_counter()
failed = 0
with open(packed_path, "wb") as packed:
    for name in names:
        try:
            with Image.open(os.path.join(src, name)) as im:
                w, h = im.size
                left, top = (w - crop) // 2, (h - crop) // 2
                if draft:
                    im.draft("RGB", (w * size // crop, h * size // crop))
                    s = im.size[0] / w
                    small = im.convert("RGB").resize((size, size), Image.LANCZOS,
                        box=(left * s, top * s, (left + crop) * s, (top + crop) * s))
                else:
                    small = im.convert("RGB").crop((left, top, left + crop, top + crop)).resize((size, size), Image.LANCZOS)
            packed.write(small.tobytes())
            small.save(os.path.join(out, name), quality=90)
        except Exception:
            failed += 1
print(json.dumps({"images": len(names), "failed": failed, "seconds": time.perf_counter() - t0}))
`;

function parseArgs(args: string[]) {
  const opts = { full: false, count: 600, repeat: 3, sample: "/work/shared/galaxy-zoo-sample", child: "" };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    if (flag === "--full") opts.full = true;
    else if (flag === "--count") opts.count = Number(args[++i]);
    else if (flag === "--repeat") opts.repeat = Number(args[++i]);
    else if (flag === "--sample") opts.sample = args[++i];
    else if (flag === "--child") opts.child = args[++i];
    else throw new Error(`unknown flag ${flag} (flags: --full, --count N, --repeat N, --sample DIR)`);
  }
  return opts;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The JPEG jobs of a folder, in name order, written under `out`. */
async function jobsOf(imageDir: string, out: string): Promise<ImageJob[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(imageDir)) if (e.name.endsWith(".jpg")) names.push(e.name);
  // Same order as Python's sorted(): by code point.
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return names.map((n) => ({ input: join(imageDir, n), output: join(out, n) }));
}

/** Child process: runs one Deno variant over a folder and prints what it measured. */
async function child(spec: string): Promise<void> {
  const { variant, imageDir, out } = JSON.parse(spec) as { variant: Variant; imageDir: string; out: string };
  const jobs = await jobsOf(imageDir, out);
  const packedPath = join(out, "images.u8");
  let sampledRss = Deno.memoryUsage().rss;
  const sampler = setInterval(() => sampledRss = Math.max(sampledRss, Deno.memoryUsage().rss), 50);
  const t0 = performance.now();
  const preprocessor = variant.backend === "sharp"
    ? openPreprocessor({ kind: "sharp" })
    : createPreprocessor();
  if (variant.backend === "turbo" && preprocessor.fallbackReason) {
    throw new Error(preprocessor.fallbackReason);
  }
  const threads = batchThreads(preprocessor);
  const opts = {
    crop: 212,
    size: 64,
    jpegQuality: 90,
    workers: variant.workers ?? threads.workers,
    inFlight: variant.inFlight ?? threads.inFlight,
    preprocessor,
  };
  const failed = (await preprocessToPacked(jobs, packedPath, opts)).failed.length;
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  sampledRss = Math.max(sampledRss, Deno.memoryUsage().rss);
  console.log(JSON.stringify({ images: jobs.length, failed, seconds, sampledRss }));
}

/** Runs a variant in its own process with a fresh output folder; returns its measurements. */
async function measure(variant: Variant, imageDir: string, timeAvailable: boolean): Promise<Measured> {
  const out = await Deno.makeTempDir({ prefix: "preprocess_bench_" });
  const packed = join(out, "images.u8");
  const command = variant.kind === "pil"
    ? [PYTHON, "-c", PIL_SCRIPT, imageDir, out, packed, variant.draft ? "1" : "0"]
    : [
      Deno.execPath(),
      "run",
      ...PERMISSIONS,
      join(import.meta.dirname!, "preprocess_bench.ts"),
      "--child",
      JSON.stringify({ variant, imageDir, out }),
    ];
  const argv = timeAvailable ? [TIME, "-f", "peak-rss-kb %M", ...command] : command;
  const { code, stdout, stderr } = await new Deno.Command(argv[0], { args: argv.slice(1), cwd: ROOT })
    .output();
  const text = new TextDecoder();
  if (code !== 0) {
    throw new Error(`${variant.name} failed (exit ${code}):\n${text.decode(stderr)}`);
  }
  const lines = text.decode(stdout).trim().split("\n");
  const result = JSON.parse(lines[lines.length - 1]) as Measured;
  const rss = text.decode(stderr).match(/peak-rss-kb (\d+)/);
  if (rss) result.peakRss = Number(rss[1]) * 1024;
  result.packed = packed;
  return result;
}

/** Mean absolute difference per byte of two packed files (same images, same order). */
async function meanAbsDiff(a: string, b: string): Promise<number> {
  const [x, y] = [await Deno.readFile(a), await Deno.readFile(b)];
  if (x.length !== y.length || x.length === 0) return NaN;
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.abs(x[i] - y[i]);
  return sum / x.length;
}

// Deno.loadavg() needs only --allow-sys; reading /proc/loadavg would need --allow-all.
const loadavg = () => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
const mb = (bytes?: number) => (bytes === undefined ? "-" : `${(bytes / 2 ** 20).toFixed(0)} MB`);

/** Runs the variants on one folder `repeat` times, keeps each one's best rate, prints a table. */
async function compare(title: string, imageDir: string, variants: Variant[], repeat: number): Promise<void> {
  const timeAvailable = await exists(TIME);
  const count = (await jobsOf(imageDir, "")).length;
  console.log(`\n### ${title}: ${count} images in ${imageDir}`);
  console.log(`load average before: ${loadavg()}; ${navigator.hardwareConcurrency} cores`);
  console.log(
    `${"variant".padEnd(56)} ${"img/s".padStart(7)} ${"runs img/s".padStart(16)} ${
      "peak RSS".padStart(9)
    }  failed`,
  );
  const runs = new Map<Variant, Measured[]>(variants.map((v) => [v, []]));
  for (let r = 0; r < repeat; r++) {
    for (const v of variants) runs.get(v)!.push(await measure(v, imageDir, timeAvailable));
  }
  // The fastest run of each (the least disturbed by other processes), with the highest peak seen.
  const best = new Map<Variant, Measured>();
  for (const [v, ms] of runs) {
    const fastest = ms.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const peaks = ms.map((m) => m.peakRss ?? m.sampledRss ?? 0);
    best.set(v, { ...fastest, peakRss: Math.max(...peaks) });
    const rates = ms.map((m) => (m.images / m.seconds).toFixed(0)).join(", ");
    console.log(
      `${v.name.padEnd(56)} ${(fastest.images / fastest.seconds).toFixed(0).padStart(7)} ${
        rates.padStart(16)
      } ${mb(Math.max(...peaks)).padStart(9)}  ${fastest.failed}`,
    );
  }
  const rate = (v: Variant) => (best.get(v)!.images / best.get(v)!.seconds);
  console.log(`load average after: ${loadavg()}`);
  console.log(
    `Step 2 / PIL LANCZOS: ${(rate(STEP) / rate(PIL)).toFixed(2)}x; Step 2 / PIL draft(): ${
      (rate(STEP) / rate(PIL_DRAFT)).toFixed(2)
    }x`,
  );
  if (best.has(SHARP)) console.log(`Step 2 / sharp fallback: ${(rate(STEP) / rate(SHARP)).toFixed(2)}x`);
  const stepPeak = best.get(STEP)!.peakRss ?? best.get(STEP)!.sampledRss;
  console.log(
    `Step 2 peak RSS ${mb(stepPeak)} (${timeAvailable ? "/usr/bin/time" : "sampled"}; sampled ${
      mb(best.get(STEP)!.sampledRss)
    }); the target is under 2,048 MB`,
  );
  console.log(
    `pixels, mean |difference| per byte: Step 2 vs PIL LANCZOS ${
      (await meanAbsDiff(best.get(STEP)!.packed, best.get(PIL)!.packed)).toFixed(2)
    }, vs PIL draft() ${(await meanAbsDiff(best.get(STEP)!.packed, best.get(PIL_DRAFT)!.packed)).toFixed(2)}${
      best.has(SHARP)
        ? `, vs the sharp fallback ${
          (await meanAbsDiff(best.get(STEP)!.packed, best.get(SHARP)!.packed)).toFixed(2)
        }`
        : ""
    }`,
  );
  for (const m of [...runs.values()].flat()) await Deno.remove(resolve(m.packed, ".."), { recursive: true });
}

/** The 61,578-galaxy synthetic set, generated once and reused (its CSV is written last). */
async function fullSet(): Promise<string> {
  const dir = join(ROOT, "cache", "bench", `synthetic-${FULL_COUNT}`);
  if (!(await exists(join(dir, "training_solutions_rev1.csv")))) {
    console.log(`generating ${FULL_COUNT} synthetic galaxies into ${dir} (once; about 10 minutes)`);
    const t0 = performance.now();
    await generateSyntheticGalaxyZoo({
      dir,
      count: FULL_COUNT,
      seed: 1,
      onProgress: (done) => {
        if (done % 5000 === 0) console.log(`  ${done} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      },
    });
  }
  return join(dir, "images_training_rev1");
}

if (import.meta.main) {
  const opts = parseArgs(Deno.args);
  if (opts.child) {
    await child(opts.child);
  } else {
    if (!(await exists(PYTHON))) throw new Error(`${PYTHON} is missing: apt-get install -y python3-pil`);
    console.log(
      `decoder ${createPreprocessor().decoder}; sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}, ` +
        `sharp.concurrency() ${sharp.concurrency()}`,
    );
    const tmp = await Deno.makeTempDir({ prefix: "preprocess_bench_set_" });
    try {
      await generateSyntheticGalaxyZoo({ dir: tmp, count: opts.count, seed: 7 });
      await compare("synthetic", join(tmp, "images_training_rev1"), VARIANTS, opts.repeat);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
    const real = join(opts.sample, "images_training_rev1");
    if (await exists(real)) await compare("real Kaggle sample", real, VARIANTS, opts.repeat);
    if (opts.full) {
      await compare(`full scale (${FULL_COUNT})`, await fullSet(), [STEP, PIL, PIL_DRAFT], 1);
    }
  }
}
