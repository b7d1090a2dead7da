/**
 * Step 6, modified models: each experiment of the configured list (ResNet-18, the decision-tree
 * model with augmentation and test-time averaging, ablations) trained by the same loop as Step 4,
 * evaluated the same way, and saved for `predict`.
 *
 * @module
 */
import { defineStage } from "../pipeline/stage.ts";
import { loadPacked } from "../lib/data/packed.ts";
import { EXPERIMENT_NAMES, type ExperimentName, EXPERIMENTS } from "../lib/experiments.ts";
import { type ExperimentResult, runExperiment, type TrainingParams, trainingParams } from "./_experiment.ts";

export interface ModifiedParams extends TrainingParams {
  /** Experiment names, or `auto`: those cheap enough for the backend (the backend is in the key). */
  experiments: ExperimentName[] | "auto";
}

/** Backends fast enough to train every experiment within the report's time budget. */
const ACCELERATED = new Set(["tensorflow", "webgpu"]);

/** The experiments `auto` means on a backend. */
export function defaultExperiments(backend: string): ExperimentName[] {
  return EXPERIMENT_NAMES.filter((n) =>
    n !== "cnn" && (ACCELERATED.has(backend) || EXPERIMENTS[n].cpuDefault)
  );
}

export interface ModifiedResult {
  experiments: ExperimentResult[];
  /** Experiments that exist but did not run, so the report can say how to run them. */
  notRun: ExperimentName[];
}

export default defineStage<ModifiedParams, ModifiedResult>({
  name: "step6",
  title: "Step 6: modified models",
  module: import.meta.url,
  deps: ["step2"],
  usesTf: true,
  resumable: true,
  params: (c) => ({ ...trainingParams(c), experiments: c.experiments as ExperimentName[] | "auto" }),
  async run(ctx) {
    const data = await loadPacked(ctx.input("step2").dir);
    const experiments: ExperimentResult[] = [];
    const names = ctx.params.experiments === "auto"
      ? defaultExperiments(ctx.backend?.name ?? "cpu")
      : ctx.params.experiments;
    ctx.log(`experiments: ${names.join(", ") || "(none)"}`);
    for (const name of names) {
      experiments.push(await runExperiment(ctx as never, name, data, ctx.params));
    }
    return { experiments, notRun: EXPERIMENT_NAMES.filter((n) => n !== "cnn" && !names.includes(n)) };
  },
});
