/**
 * Dropout whose masks are a function of the training step, so runs stay reproducible: the same
 * seed gives the same masks, and a run resumed from a checkpoint draws exactly the masks an
 * uninterrupted one would. TF.js's own Dropout either draws from an unseeded generator (another
 * result every run) or, given a seed, the same mask at every step. The training loop passes each
 * step's seed as the `dropoutSeed` keyword of `model.apply` (tfjs-layers hands keywords to every
 * layer); each layer mixes in its name, so two dropout layers draw different masks.
 *
 * Inverted dropout, as PyTorch's: kept activations are scaled by 1 / (1 - rate) in training, and
 * inference passes the input through unchanged. Importing this module registers the layer with
 * TF.js's serialisation, so saved models that contain it load.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { mixSeed } from "../train/rng.ts";

/** Options of {@link seededDropout}. */
export interface SeededDropoutArgs {
  name?: string;
  /** Fraction of activations zeroed in training, in [0, 1). */
  rate: number;
}

/** A 32-bit hash of a layer name (FNV-1a), mixed into the step seed. */
function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The layer; build it with {@link seededDropout}. */
export class SeededDropout extends tfl.layers.Layer {
  static className = "GalaxyZooSeededDropout";
  readonly rate: number;

  constructor(args: SeededDropoutArgs) {
    super({ name: args.name });
    if (!(args.rate >= 0 && args.rate < 1)) {
      throw new Error(`SeededDropout rate must be in [0, 1), got ${args.rate}`);
    }
    this.rate = args.rate;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (!kwargs?.training || this.rate === 0) return x;
    const seed = kwargs.dropoutSeed;
    if (typeof seed !== "number" || !Number.isInteger(seed)) {
      throw new Error(
        `${this.name}: training mode needs an integer dropoutSeed keyword (the training loop passes one per step)`,
      );
    }
    return tf.tidy(() => {
      const draw = tf.randomUniform(x.shape, 0, 1, "float32", mixSeed(seed, nameHash(this.name)));
      const keep = tf.cast(tf.greaterEqual(draw, this.rate), "float32");
      return tf.mul(x, tf.mul(keep, 1 / (1 - this.rate)));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate };
  }
}
tf.serialization.registerClass(SeededDropout);

/**
 * A dropout layer with step-seeded masks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { seededDropout } from "./seeded_dropout.ts";
 * await tf.setBackend("cpu");
 * const layer = seededDropout({ rate: 0.5 });
 * const x = tf.ones([2, 8]);
 * const a = layer.apply(x, { training: true, dropoutSeed: 7 }) as tf.Tensor;
 * const b = layer.apply(x, { training: true, dropoutSeed: 7 }) as tf.Tensor;
 * assert.deepEqual(a.arraySync(), b.arraySync());
 * assert.deepEqual((layer.apply(x) as tf.Tensor).arraySync(), x.arraySync());
 * ```
 */
export function seededDropout(args: SeededDropoutArgs): SeededDropout {
  return new SeededDropout(args);
}
