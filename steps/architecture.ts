/**
 * Step 3, the model: the course CNN built from its one definition, and its architecture summary
 * (layers, output shapes, parameters) for the report.
 *
 * @module
 */
import { defineStage } from "../pipeline/stage.ts";
import { buildModel, type ModelSummary, summarize } from "../lib/model/mod.ts";
import { EXPERIMENTS } from "../lib/experiments.ts";

export interface ArchitectureParams {
  imageSize: number;
  seed: number;
}

export interface ArchitectureResult {
  cnn: ModelSummary;
  /** Summaries of the Step-6 architectures too, for the comparison. */
  others: Record<string, ModelSummary>;
}

export default defineStage<ArchitectureParams, ArchitectureResult>({
  name: "step3",
  title: "Step 3: the course CNN",
  module: import.meta.url,
  deps: [],
  usesTf: true,
  params: (c) => ({ imageSize: c.imageSize, seed: c.seed }),
  run(ctx) {
    const describe = (name: "cnn" | "resnet18" | "constrained") => {
      const model = buildModel(name, {
        seed: ctx.params.seed,
        inputSize: ctx.params.imageSize,
      });
      try {
        return summarize(model);
      } finally {
        model.dispose();
      }
    };
    const models = new Set(Object.values(EXPERIMENTS).map((e) => e.model));
    models.delete("cnn");
    return Promise.resolve({
      cnn: describe("cnn"),
      others: Object.fromEntries([...models].map((m) => [m, describe(m)])),
    });
  },
});
