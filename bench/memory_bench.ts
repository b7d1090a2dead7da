/**
 * Peak memory of training the course CNN at the full Kaggle scale: 61,578 galaxies packed in
 * memory (as Step 4 holds them), the real training loop with the default workers, a slice of an
 * epoch's optimisation steps and the full-split evaluations that follow every epoch. The peak is
 * read by /usr/bin/time around a child process, so the workers' memory counts too. Target: 4 GB.
 *
 * @module
 */
import { courseCnn } from "../lib/model/course_cnn.ts";
import { train } from "../lib/train/loop.ts";
import { selectBackend } from "../lib/tf/backend.ts";
import { splitByGalaxyId } from "../lib/data/split.ts";
import { mulberry32 } from "../lib/train/rng.ts";

const GALAXIES = 61578;
const TRAIN_STEPS = 60;
const TARGET_GB = 4;

async function child(): Promise<void> {
  await selectBackend("auto");
  const size = 64;
  const random = mulberry32(1);
  const images = new Uint8Array(GALAXIES * size * size * 3);
  for (let i = 0; i < images.length; i++) images[i] = random() * 256;
  const labels = new Float32Array(GALAXIES * 37).map(() => random());
  const ids = Array.from({ length: GALAXIES }, (_, i) => 100000 + i);
  const split = splitByGalaxyId(ids, 0.2, 42);
  const started = performance.now();
  // Optimisation on a slice of the training split (the cost per step doesn't depend on the
  // split's size); evaluation over the whole test split, as after every epoch.
  const history = await train({
    model: courseCnn({ seed: 1 }),
    data: {
      dataset: { images, labels, count: GALAXIES, size },
      trainIndices: split.train.slice(0, TRAIN_STEPS * 64),
      testIndices: split.test,
    },
    epochs: 1,
    batchSize: 64,
    learningRate: 0.003,
    seed: 1,
  });
  const rss = Deno.memoryUsage().rss;
  console.log(
    `trained ${TRAIN_STEPS} steps and evaluated ${split.test.length} test galaxies twice in ${
      ((performance.now() - started) / 1000).toFixed(0)
    } s (test MSE ${history.epochs.at(-1)!.testLoss!.toFixed(4)}); main-thread RSS at the end ${
      (rss / 2 ** 30).toFixed(2)
    } GiB`,
  );
}

if (Deno.args[0] === "--child") {
  await child();
} else {
  const command = [
    Deno.execPath(),
    "run",
    "--allow-read",
    "--allow-env",
    "--allow-ffi",
    "--allow-sys",
    import.meta.filename!,
    "--child",
  ];
  let timeAvailable = true;
  try {
    await Deno.stat("/usr/bin/time");
  } catch {
    timeAvailable = false;
  }
  const argv = timeAvailable ? ["/usr/bin/time", "-f", "peak-rss-kb %M", ...command] : command;
  const { code, stdout, stderr } = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const out = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  console.log(out.split("\n").filter((l) => l.startsWith("trained")).join("\n"));
  const peak = /peak-rss-kb (\d+)/.exec(out);
  if (code !== 0 || !peak) {
    console.log(out.slice(-2000));
    Deno.exit(1);
  }
  const gb = Number(peak[1]) / 2 ** 20;
  console.log(
    `peak memory training the course CNN on ${GALAXIES} galaxies: ${
      gb.toFixed(2)
    } GiB (target < ${TARGET_GB} GB): ${gb < TARGET_GB ? "PASS" : "FAIL"}`,
  );
  console.log(`load average: ${Deno.loadavg().map((v) => v.toFixed(2)).join(" ")}`);
}
