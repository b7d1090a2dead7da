/**
 * One replica of the data-parallel trainer (see `_parallel.ts`): its own TensorFlow.js engine
 * (wasm or cpu), the model rebuilt from its JSON topology and weights, and its own Adam. Each step
 * it computes the loss and gradients of its shard of the batch into its shared gradient buffer;
 * then it applies the averaged gradients the main thread wrote into the shared buffer, so every
 * replica takes the same update and the trainable weights stay identical across replicas.
 *
 * Requests are handled strictly in arrival order; each gets one reply with the same id.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { useBackend } from "../tf/backend.ts";
// Registers the project's custom layers (the decision-tree output) for deserialization.
import "../model/mod.ts";
import { Adam, type AdamState } from "./adam.ts";
import type { Reply, Request } from "./_protocol.ts";
import { useTrainingFastPaths } from "./_fast_paths.ts";

/** A worker's training state. (Exported so `_parallel.ts` can name this module in an import.) */
export interface Replica {
  model: tfl.LayersModel;
  variables: tf.Variable[];
  adam: Adam;
  /** This replica's gradients, written each step, read by the main thread. */
  grads: Float32Array;
  /** The averaged gradients, written by the main thread, shared by every replica. */
  average: Float32Array;
  size: number;
}

let replica: Replica | null = null;

function need(): Replica {
  if (replica === null) throw new Error("trainer worker used before init");
  return replica;
}

function writeWeights(model: tfl.LayersModel, indices: number[], arrays: Float32Array[]): void {
  tf.tidy(() =>
    indices.forEach((i, k) => {
      const w = model.weights[i];
      w.write(tf.tensor(arrays[k], w.shape as number[], "float32"));
    })
  );
}

async function handle(request: Request): Promise<Omit<Reply, "id">> {
  switch (request.op) {
    case "init": {
      await useBackend(request.backend, { fastKernels: request.fastKernels, blas: request.blas });
      const model = await tfl.models.modelFromJSON({
        modelTopology: request.topology as tf.io.ModelJSON["modelTopology"],
      });
      if (model.weights.length !== request.weights.length) {
        throw new Error(
          `rebuilt model has ${model.weights.length} weights, expected ${request.weights.length}`,
        );
      }
      writeWeights(model, model.weights.map((_, i) => i), request.weights);
      useTrainingFastPaths(model);
      const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const adam = new Adam(variables, { learningRate: request.learningRate });
      if (request.adam) adam.setState(request.adam);
      const grads = new Float32Array(request.grads);
      const total = variables.reduce((n, v) => n + v.size, 0);
      if (grads.length !== total) {
        throw new Error(`gradient buffer holds ${grads.length}, model has ${total}`);
      }
      replica = {
        model,
        variables,
        adam,
        grads,
        average: new Float32Array(request.average),
        size: request.size,
      };
      return {};
    }
    case "step": {
      const { model, variables, grads, size } = need();
      const x = tf.tensor4d(request.x, [request.rows, size, size, 3]);
      const y = tf.tensor2d(request.y, [request.rows, request.y.length / request.rows]);
      try {
        const loss = tf.tidy(() => {
          const { value, grads: g } = tf.variableGrads(() => {
            const pred = model.apply(x, { training: true, dropoutSeed: request.dropoutSeed }) as tf.Tensor; // [b, 37]
            return tf.mean(tf.squaredDifference(pred, y));
          }, variables);
          let offset = 0;
          for (const v of variables) {
            grads.set(g[v.name].dataSync() as Float32Array, offset);
            offset += v.size;
          }
          return value.dataSync()[0];
        });
        return { loss };
      } finally {
        tf.dispose([x, y]);
      }
    }
    case "apply": {
      const { variables, adam, average } = need();
      const grads: tf.Tensor[] = [];
      let offset = 0;
      for (const v of variables) {
        // A view, not a copy: the tensor is disposed before this request is answered, and the
        // main thread rewrites the average only after the next step's reply.
        grads.push(tf.tensor(average.subarray(offset, offset + v.size), v.shape, "float32"));
        offset += v.size;
      }
      try {
        adam.apply(grads);
      } finally {
        tf.dispose(grads);
      }
      return {};
    }
    case "eval": {
      const { model, size } = need();
      const sse = tf.tidy(() => {
        const x = tf.tensor4d(request.x, [request.rows, size, size, 3]);
        const y = tf.tensor2d(request.y, [request.rows, request.y.length / request.rows]);
        return tf.sum(tf.squaredDifference(model.predict(x) as tf.Tensor, y)).dataSync()[0];
      });
      return { sse };
    }
    case "getState": {
      const { model, adam } = need();
      const weights = request.indices.map((i) =>
        (model.weights[i].read().dataSync() as Float32Array).slice()
      );
      const state: AdamState | undefined = request.adam ? adam.getState() : undefined;
      return { weights, adam: state };
    }
    case "setWeights": {
      writeWeights(need().model, request.indices, request.arrays);
      return {};
    }
  }
}

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<Request>) => void) | null;
  postMessage(message: Reply, transfer?: Transferable[]): void;
};
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (event) => {
  const request = event.data;
  queue = queue.then(async () => {
    try {
      const reply = await handle(request);
      const transfer = (reply.weights ?? []).map((a) => a.buffer as ArrayBuffer);
      scope.postMessage({ id: request.id, ...reply }, transfer);
    } catch (error) {
      const message = error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error);
      scope.postMessage({ id: request.id, error: message });
    }
  });
};
