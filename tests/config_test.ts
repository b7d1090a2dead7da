import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULTS, FLAG_NAMES, helpText, parseConfig, UsageError } from "../pipeline/config.ts";

const STAGES = ["data", "step1", "step2", "render"];

function rejects(args: string[], pattern: RegExp): void {
  assert.throws(() => parseConfig(args, STAGES), (e: Error) => {
    assert.ok(e instanceof UsageError, `expected a UsageError, got ${e}`);
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("defaults follow the course", () => {
  const c = parseConfig([], STAGES);
  assert.equal(c.crop, 212);
  assert.equal(c.imageSize, 64);
  assert.equal(c.testFraction, 0.2);
  assert.equal(c.batchSize, 64);
  assert.equal(c.learningRate, 0.003);
  assert.equal(c.epochs, 6);
  assert.equal(c.backend, "auto");
});

Deno.test("flags in both spellings, booleans and repeatable --force", () => {
  const c = parseConfig(
    ["--epochs", "3", "--seed=7", "--pdf", "--force", "step1,step2", "--force=render"],
    STAGES,
  );
  assert.equal(c.epochs, 3);
  assert.equal(c.seed, 7);
  assert.equal(c.pdf, true);
  assert.deepEqual(c.force, ["step1", "step2", "render"]);
});

Deno.test("an unknown flag names it and lists the valid ones", () => {
  rejects(["--epoch", "3"], /Unknown flag '--epoch'\. Valid flags: --data, .*--epochs/);
});

Deno.test("bad values fail before any work, naming the flag", () => {
  rejects(["--epochs", "-1"], /--epochs must be at least 1, got -1/);
  rejects(["--epochs", "two"], /--epochs must be an integer, got 'two'/);
  rejects(["--test-fraction", "1.5"], /--test-fraction must be between 0 and 1/);
  rejects(["--backend", "cuda"], /--backend must be one of auto, tensorflow, webgpu, wasm, cpu, got 'cuda'/);
  rejects(["--data", "/no/such/folder"], /--data: folder '\/no\/such\/folder' does not exist/);
  rejects(["--force", "step9"], /unknown stage 'step9'; stages are data, step1, step2, render/);
  rejects(["--epochs"], /--epochs needs a value/);
  rejects(["stray"], /Unexpected argument 'stray'/);
  rejects(["--image-size", "300"], /--image-size \(300\) must not exceed --crop \(212\)/);
  rejects(["--experiments", "resnet50"], /unknown experiment 'resnet50'/);
});

Deno.test("a config file sets the same keys as the flags; flags win; unknown keys are named", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "run.json");
    await Deno.writeTextFile(file, JSON.stringify({ epochs: 2, "batch-size": 32, "learning-rate": 0.001 }));
    const c = parseConfig(["--config", file, "--epochs", "4"], STAGES);
    assert.equal(c.epochs, 4);
    assert.equal(c.batchSize, 32);
    assert.equal(c.learningRate, 0.001);

    await Deno.writeTextFile(file, JSON.stringify({ epoch: 2 }));
    rejects(
      ["--config", file],
      new RegExp(`Unknown config key 'epoch'.*\\(in '${file.replaceAll("/", "\\/")}'\\)`),
    );
    await Deno.writeTextFile(file, "{ epochs: 2 ");
    rejects(["--config", file], /is not valid JSON/);
    rejects(["--config", join(dir, "missing.json")], /Cannot read config file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--help lists every flag with its default", () => {
  const text = helpText("report", STAGES);
  for (const flag of FLAG_NAMES) assert.ok(text.includes(`--${flag}`), flag);
  assert.ok(text.includes(`(default ${DEFAULTS.learningRate})`));
});
