/**
 * Adam as PyTorch's `torch.optim.Adam` computes it (bias corrections in double precision from the
 * step count, eps added after the square root), with state that saves and restores exactly. TF.js's
 * own Adam keeps running products of beta1/beta2 that its `setWeights` rebuilds with `pow`, so a
 * resumed run could drift from an uninterrupted one in the last bit.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { ADAM_KERNEL } from "../tf/kernels/adam.ts";

/** Hyperparameters; defaults are PyTorch's. */
export interface AdamOptions {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** Everything needed to continue exactly where a run stopped. */
export interface AdamState {
  step: number;
  /** First and second moments, one array per variable in the optimiser's variable order. */
  m: Float32Array[];
  v: Float32Array[];
}

/** An Adam optimiser bound to a fixed list of variables. Call `dispose()` when done. */
export class Adam {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** Number of updates applied so far. */
  step = 0;
  readonly #variables: tf.Variable[];
  readonly #m: tf.Variable[];
  readonly #v: tf.Variable[];

  constructor(
    variables: tf.Variable[],
    { learningRate, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8 }: AdamOptions,
  ) {
    if (!(learningRate > 0)) throw new Error(`Adam learningRate must be > 0, got ${learningRate}`);
    this.learningRate = learningRate;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.epsilon = epsilon;
    this.#variables = variables;
    this.#m = variables.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
    this.#v = variables.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
  }

  /** Applies one update; `grads[i]` is the gradient of `variables[i]`. */
  apply(grads: tf.Tensor[]): void {
    if (grads.length !== this.#variables.length) {
      throw new Error(`Adam got ${grads.length} gradients for ${this.#variables.length} variables`);
    }
    this.step += 1;
    const stepSize = this.learningRate / (1 - this.beta1 ** this.step);
    const correction2 = Math.sqrt(1 - this.beta2 ** this.step);
    if (tf.getKernel(ADAM_KERNEL, tf.getBackend()) != null) {
      // One pass per variable, bit-identical to the ops below (lib/tf/kernels/adam.ts).
      const attrs = { beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, stepSize, correction2 };
      grads.forEach((g, i) => {
        const [w, m, v] = tf.engine().runKernel(ADAM_KERNEL, {
          w: this.#variables[i],
          m: this.#m[i],
          v: this.#v[i],
          g,
        }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        this.#variables[i].assign(w);
        this.#m[i].assign(m);
        this.#v[i].assign(v);
        tf.dispose([w, m, v]);
      });
      return;
    }
    tf.tidy(() => {
      grads.forEach((g, i) => {
        const m = tf.add(tf.mul(this.#m[i], this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(this.#v[i], this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        const denom = tf.add(tf.div(tf.sqrt(v), correction2), this.epsilon);
        this.#variables[i].assign(tf.sub(this.#variables[i], tf.mul(tf.div(m, denom), stepSize)));
        this.#m[i].assign(m);
        this.#v[i].assign(v);
      });
    });
  }

  /** A copy of the state (moments read synchronously). */
  getState(): AdamState {
    return {
      step: this.step,
      m: this.#m.map((t) => t.dataSync() as Float32Array).map((a) => a.slice()),
      v: this.#v.map((t) => t.dataSync() as Float32Array).map((a) => a.slice()),
    };
  }

  /** Restores a state written by {@link getState} for the same variables. */
  setState(state: AdamState): void {
    const check = (arrays: Float32Array[], what: string) => {
      if (
        arrays.length !== this.#variables.length ||
        arrays.some((a, i) => a.length !== this.#variables[i].size)
      ) {
        throw new Error(`Adam state ${what} does not match the model's ${this.#variables.length} variables`);
      }
    };
    check(state.m, "first moments");
    check(state.v, "second moments");
    tf.tidy(() => {
      state.m.forEach((a, i) => this.#m[i].assign(tf.tensor(a.slice(), this.#m[i].shape, "float32")));
      state.v.forEach((a, i) => this.#v[i].assign(tf.tensor(a.slice(), this.#v[i].shape, "float32")));
    });
    this.step = state.step;
  }

  dispose(): void {
    this.#m.forEach((t) => t.dispose());
    this.#v.forEach((t) => t.dispose());
  }
}
