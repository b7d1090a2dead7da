/**
 * GPU backend check: for each GPU backend that loads here (WebGPU on a real adapter,
 * tfjs-node-gpu where libtensorflow with CUDA is installed), a short training run of the course
 * CNN on fixed random data, its images/s and its losses next to the wasm backend's on the same
 * data and seed. Each backend runs in its own process so one backend's state can't touch another.
 *
 * ```sh
 * deno run --allow-read --allow-write --allow-env --allow-ffi --allow-sys --allow-run bench/gpu_check.ts
 * ```
 *
 * @module
 */
import { selectBackend } from "../lib/tf/backend.ts";
import { courseCnn } from "../lib/model/course_cnn.ts";
import { train } from "../lib/train/loop.ts";
import { mulberry32 } from "../lib/train/rng.ts";

const COUNT = 512;
const EPOCHS = 3;
const BATCH = 64;

/** Fixed random images and learnable labels (a function of the mean colour), the same everywhere. */
function fixedData() {
  const size = 64;
  const random = mulberry32(2014);
  const images = new Uint8Array(COUNT * size * size * 3);
  const labels = new Float32Array(COUNT * 37);
  for (let i = 0; i < COUNT; i++) {
    const base = random() * 200;
    for (let p = 0; p < size * size * 3; p++) {
      images[i * size * size * 3 + p] = Math.min(255, base + random() * 55);
    }
    for (let c = 0; c < 37; c++) labels[i * 37 + c] = ((base / 255) * (c + 1)) % 1;
  }
  const indices = Array.from({ length: COUNT }, (_, i) => i);
  return {
    dataset: { images, labels, count: COUNT, size },
    train: indices.slice(0, 448),
    test: indices.slice(448),
  };
}

async function child(backend: "webgpu" | "tensorflow" | "wasm"): Promise<void> {
  const choice = await selectBackend(backend);
  const data = fixedData();
  const model = courseCnn({ seed: 7 });
  const history = await train({
    model,
    data: { dataset: data.dataset, trainIndices: data.train, testIndices: data.test },
    epochs: EPOCHS,
    batchSize: BATCH,
    learningRate: 0.003,
    seed: 7,
    workers: 1,
  });
  const trained = history.epochs.filter((e) => e.imagesPerSecond !== null);
  console.log(JSON.stringify({
    backend: choice.name,
    reason: choice.reason,
    imagesPerSecond: trained.reduce((s, e) => s + e.imagesPerSecond!, 0) / trained.length,
    losses: history.epochs.map((e) => e.testLoss),
  }));
}

async function run(
  backend: string,
): Promise<{ backend: string; imagesPerSecond: number; losses: number[] } | string> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-ffi",
      "--allow-sys",
      import.meta.filename!,
      "--child",
      backend,
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const out = new TextDecoder().decode(stdout).trim().split("\n").at(-1) ?? "";
  if (code !== 0) {
    const err = new TextDecoder().decode(stderr).trim().split("\n").find((l) => l.includes("error:"));
    return err ?? `exit code ${code}`;
  }
  return JSON.parse(out);
}

if (Deno.args[0] === "--child") {
  await child(Deno.args[1] as "webgpu" | "tensorflow" | "wasm");
} else {
  console.log(`course CNN, ${COUNT - 64} training images, ${EPOCHS} epochs, batch ${BATCH}, seed 7`);
  const reference = await run("wasm");
  if (typeof reference === "string") throw new Error(`the wasm reference failed: ${reference}`);
  console.log(
    `wasm (reference): ${reference.imagesPerSecond.toFixed(0)} img/s, test MSE per epoch ${
      reference.losses.map((l) => l.toFixed(5)).join(" ")
    }`,
  );
  for (const backend of ["webgpu", "tensorflow"]) {
    const result = await run(backend);
    if (typeof result === "string") {
      console.log(`${backend}: not available here (${result.slice(0, 200)})`);
      continue;
    }
    const worst = Math.max(...result.losses.map((l, i) => Math.abs(l - reference.losses[i])));
    console.log(
      `${backend} (${result.backend}): ${result.imagesPerSecond.toFixed(0)} img/s (${
        (result.imagesPerSecond / reference.imagesPerSecond).toFixed(1)
      }x wasm), ` +
        `test MSE per epoch ${
          result.losses.map((l) => l.toFixed(5)).join(" ")
        }, largest difference from wasm ${worst.toExponential(2)}`,
    );
  }
}
