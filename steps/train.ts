/**
 * Step 4, training: the course CNN with Adam (lr 0.003) on the mean squared error for 6 epochs in
 * batches of 64, losses on both splits before training and after every epoch, a checkpoint per
 * epoch (a killed run resumes from the last finished one), the trained model in the TensorFlow.js
 * format and a loss curve.
 *
 * @module
 */
import { defineStage } from "../pipeline/stage.ts";
import { loadPacked } from "../lib/data/packed.ts";
import { type ExperimentResult, runExperiment, type TrainingParams, trainingParams } from "./_experiment.ts";

export default defineStage<TrainingParams, ExperimentResult>({
  name: "step4",
  title: "Step 4: training the course CNN",
  module: import.meta.url,
  deps: ["step2"],
  usesTf: true,
  resumable: true,
  params: trainingParams,
  async run(ctx) {
    const data = await loadPacked(ctx.input("step2").dir);
    return await runExperiment(ctx as never, "cnn", data, ctx.params);
  },
});
