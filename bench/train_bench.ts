/**
 * Training throughput of the project's own trainer against PyTorch, side by side in one run: the
 * real `train()` loop on the real model factories (random data, batch 64, Adam, MSE), then, where
 * `/usr/bin/python3` has torch, the same architectures in PyTorch on the same shapes and thread
 * count. Prints images/s for each and the ratio; writes nothing.
 *
 *   deno task bench train -- [--steps 6] [--models cnn,resnet18] [--workers 1,2] [--backend wasm]
 *     [--blas on,off] [--no-torch]
 *
 * `--blas off` is the trainer without a BLAS (XNNPACK convolutions): the "before" of the BLAS
 * kernels, measured in the same run.
 *
 * The first step of every run is a warm-up (XNNPACK operator creation, worker start) and is left
 * out of the rate. The 2 cores of the target machine are shared, so the load average is printed
 * next to every number.
 */
import { buildModel, type ModelName } from "../lib/model/mod.ts";
import { blasStatus } from "../lib/tf/blas.ts";
import { selectBackend, useBackend, usesBlas } from "../lib/tf/backend.ts";
import { train } from "../lib/train/loop.ts";

interface Options {
  steps: number;
  batch: number;
  models: ModelName[];
  workers: number[];
  backend: "wasm" | "cpu";
  torch: boolean;
  threads: number;
  blas: boolean[];
}

function parseArgs(args: string[]): Options {
  const opts: Options = {
    steps: 6,
    batch: 64,
    models: ["cnn", "resnet18"],
    workers: [1, 2],
    backend: "wasm",
    torch: true,
    threads: 2,
    blas: [true, false],
  };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    if (flag === "--no-torch") {
      opts.torch = false;
      continue;
    }
    const value = args[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === "--steps") opts.steps = Number(value);
    else if (flag === "--batch") opts.batch = Number(value);
    else if (flag === "--models") opts.models = value.split(",") as ModelName[];
    else if (flag === "--workers") opts.workers = value.split(",").map(Number);
    else if (flag === "--backend") opts.backend = value as Options["backend"];
    else if (flag === "--threads") opts.threads = Number(value);
    else if (flag === "--blas") opts.blas = value.split(",").map((v) => v === "on");
    else throw new Error(`unknown flag ${flag}`);
  }
  return opts;
}

// Deno.loadavg needs only --allow-sys; reading /proc/loadavg would need --allow-all.
const loadavg = () => Deno.loadavg().map((l) => l.toFixed(2)).join(" ");

/** Images/s of our trainer: `steps` optimisation steps after one warm-up step. */
async function ours(name: ModelName, workers: number, opts: Options): Promise<number> {
  const { batch, steps } = opts;
  const count = batch * (steps + 1);
  const size = 64;
  let s = 12345;
  const random = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const dataset = {
    images: Uint8Array.from({ length: count * size * size * 3 }, () => Math.floor(random() * 256)),
    labels: Float32Array.from({ length: count * 37 }, random),
    count,
    size,
  };
  const model = buildModel(name, { seed: 1, inputSize: size });
  let images = 0;
  let ms = 0;
  try {
    let last = performance.now();
    await train({
      model,
      data: { dataset, trainIndices: Array.from({ length: count }, (_, i) => i), testIndices: [] },
      epochs: 1,
      batchSize: batch,
      learningRate: 0.003,
      seed: 1,
      workers,
      callbacks: {
        onEpochStart() {
          last = performance.now();
        },
        onBatchEnd(_epoch, step) {
          const now = performance.now();
          if (step > 0) {
            images += batch;
            ms += now - last;
          }
          last = now;
        },
      },
    });
  } finally {
    model.dispose();
  }
  return images / (ms / 1000);
}

const TORCH = String.raw`
import sys, time, torch, torch.nn as nn
torch.set_num_threads(int(sys.argv[1])); torch.manual_seed(0)
name, steps, batch = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def course():
    return nn.Sequential(nn.Conv2d(3, 6, 5, padding=3), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, padding=3), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(4624, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 37), nn.Sigmoid())
class Block(nn.Module):
    def __init__(s, cin, cout, stride):
        super().__init__()
        s.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False); s.b1 = nn.BatchNorm2d(cout)
        s.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False); s.b2 = nn.BatchNorm2d(cout)
        s.down = None if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
    def forward(s, x):
        y = s.b2(s.c2(torch.relu(s.b1(s.c1(x)))))
        return torch.relu(y + (x if s.down is None else s.down(x)))
def resnet18():
    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for i, c in enumerate([64, 128, 256, 512]):
        layers += [Block(cin, c, 1 if i == 0 else 2), Block(c, c, 1)]; cin = c
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 37), nn.Sigmoid()]
    return nn.Sequential(*layers)
model = course() if name == "cnn" else resnet18()
opt = torch.optim.Adam(model.parameters(), lr=0.003)
x = torch.rand(batch, 3, 64, 64); y = torch.rand(batch, 37)
def step():
    opt.zero_grad(); loss = nn.functional.mse_loss(model(x), y); loss.backward(); opt.step()
step()
t = time.perf_counter()
for _ in range(steps): step()
print(steps * batch / (time.perf_counter() - t))
`;

/** Images/s of the same architecture in PyTorch, or null without torch. */
async function torch(name: ModelName, opts: Options): Promise<number | null> {
  try {
    const out = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", TORCH, String(opts.threads), name, String(opts.steps), String(opts.batch)],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      console.log(`  (PyTorch failed: ${new TextDecoder().decode(out.stderr).trim().split("\n").pop()})`);
      return null;
    }
    return Number(new TextDecoder().decode(out.stdout).trim());
  } catch (error) {
    console.log(`  (no /usr/bin/python3: ${error instanceof Error ? error.message : error})`);
    return null;
  }
}

const opts = parseArgs(Deno.args);
const choice = await selectBackend(opts.backend);
console.log(
  `backend ${choice.name}, batch ${opts.batch}, ${opts.steps} timed steps after 1 warm-up, ` +
    `${navigator.hardwareConcurrency} cores`,
);
console.log(`BLAS: ${usesBlas(choice.name) ? blasStatus() : `none (${blasStatus()})`}`);
// Without a BLAS there is only the one variant.
const variants = usesBlas(choice.name) ? opts.blas : [false];
console.log("model      trainer                        train img/s   vs PyTorch   load avg");
for (const name of opts.models) {
  const peer = opts.torch ? await torch(name, opts) : null;
  if (peer !== null) {
    const row = [name.padEnd(10), `PyTorch ${opts.threads} threads`.padEnd(30), peer.toFixed(1).padStart(11)];
    console.log([...row, "".padStart(12), `  ${loadavg()}`].join(" "));
  }
  for (const blas of variants) {
    await useBackend(opts.backend, { fastKernels: true, blas });
    for (const workers of opts.workers) {
      const rate = await ours(name, workers, opts);
      const ratio = peer === null ? "" : (rate / peer).toFixed(2);
      const label = `ours, ${workers} worker${workers > 1 ? "s" : ""}, ${blas ? "BLAS" : "XNNPACK"}`;
      const row = [name.padEnd(10), label.padEnd(30)];
      console.log([...row, rate.toFixed(1).padStart(11), ratio.padStart(12), `  ${loadavg()}`].join(" "));
    }
  }
}
