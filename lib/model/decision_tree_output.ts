/**
 * The Galaxy Zoo decision tree as an output layer, in the spirit of Dieleman's winning Kaggle
 * model: 37 unconstrained inputs become 37 vote fractions that obey the tree exactly. Each
 * question's answers are made non-negative, divided by their sum, and multiplied by the fraction
 * of the parent answer that leads to the question (questions 1 and 6 sum to 1). The tree comes
 * from `QUESTIONS` in lib/classes.ts; no column index is written here.
 *
 * Importing this module registers the layer with TF.js's serialisation, so saved models that
 * contain it load with `tfl.loadLayersModel`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { NUM_CLASSES, type Question, QUESTIONS } from "../classes.ts";

/** Options of the decision-tree output layer. */
export interface DecisionTreeOutputArgs {
  name?: string;
  /**
   * How answers are made non-negative before the division: `"softplus"` (default: never exactly
   * zero, so no answer dies) or `"relu"` (Dieleman's choice; answers whose inputs go negative for
   * every image stop receiving gradient).
   */
  activation?: "softplus" | "relu";
  /** Floor of each question's sum before dividing, against division by zero (default 1e-7). */
  epsilon?: number;
  /**
   * Divide by the question's sum (default true). Dieleman trained the first steps without the
   * division; a warm-up can build with `false` and flip {@link DecisionTreeOutput.divide} later.
   */
  divide?: boolean;
}

/** The questions ordered so that every parent question comes before its children. */
function parentsFirst(
  questions: readonly Question[],
): { question: Question; index: number }[] {
  const questionOf = new Map<number, number>();
  questions.forEach((q, i) => q.answers.forEach((a) => questionOf.set(a, i)));
  const order: number[] = [];
  const state = new Array<0 | 1 | 2>(questions.length).fill(0); // unvisited, visiting, done
  const visit = (i: number) => {
    if (state[i] === 2) return;
    if (state[i] === 1) {
      throw new Error(
        `The decision tree has a cycle at question ${questions[i].number}`,
      );
    }
    state[i] = 1;
    const parent = questions[i].parent;
    if (parent !== null) {
      const p = questionOf.get(parent);
      if (p === undefined) {
        throw new Error(
          `Question ${questions[i].number}'s parent column ${parent} belongs to no question`,
        );
      }
      visit(p);
    }
    state[i] = 2;
    order.push(i);
  };
  questions.forEach((_, i) => visit(i));
  return order.map((index) => ({ question: questions[index], index }));
}

/** The custom layer; build it with {@link decisionTreeOutput}. */
export class DecisionTreeOutput extends tfl.layers.Layer {
  static className = "GalaxyZooDecisionTree";
  readonly activation: "softplus" | "relu";
  readonly epsilon: number;
  /** Whether answers are divided by their question's sum; may be switched after a warm-up. */
  divide: boolean;

  constructor(args: DecisionTreeOutputArgs = {}) {
    super({ name: args.name });
    this.activation = args.activation ?? "softplus";
    this.epsilon = args.epsilon ?? 1e-7;
    this.divide = args.divide ?? true;
    if (this.activation !== "softplus" && this.activation !== "relu") {
      throw new Error(
        `DecisionTreeOutput activation must be "softplus" or "relu", got "${this.activation}"`,
      );
    }
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    if (shape[shape.length - 1] !== NUM_CLASSES) {
      throw new Error(
        `DecisionTreeOutput expects ${NUM_CLASSES} inputs per example, got shape [${shape}]`,
      );
    }
    return shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D; // [B, 37]
      const positive = this.activation === "relu" ? tf.relu(x) : tf.softplus(x); // [B, 37]
      const out: tf.Tensor2D[] = new Array(QUESTIONS.length);
      const columnAt = new Map<number, [question: number, position: number]>();
      QUESTIONS.forEach((q, i) => q.answers.forEach((a, j) => columnAt.set(a, [i, j])));
      for (const { question, index } of parentsFirst(QUESTIONS)) {
        let answers = gatherColumns(positive, question.answers); // [B, k]
        if (this.divide) {
          // max(sum, eps), not sum + eps: answers then sum to exactly 1 whenever sum >= eps.
          answers = tf.div(
            answers,
            tf.maximum(tf.sum(answers, 1, true), this.epsilon),
          );
        }
        if (question.parent !== null) {
          const [pq, pj] = columnAt.get(question.parent)!;
          answers = tf.mul(answers, tf.slice(out[pq], [0, pj], [-1, 1])); // [B, k] * [B, 1]
        }
        out[index] = answers;
      }
      const joined = tf.concat(out, 1); // [B, 37], columns in question order
      const order = QUESTIONS.flatMap((q) => q.answers);
      if (order.every((c, i) => c === i)) return joined;
      const inverse = new Array<number>(order.length);
      order.forEach((c, i) => inverse[c] = i);
      return tf.gather(joined, inverse, 1);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      activation: this.activation,
      epsilon: this.epsilon,
      divide: this.divide,
    };
  }
}
tf.serialization.registerClass(DecisionTreeOutput);

/** Columns `cols` of a [B, C] tensor: a slice when they are contiguous, else a gather. */
function gatherColumns(x: tf.Tensor2D, cols: readonly number[]): tf.Tensor2D {
  const contiguous = cols.every((c, i) => c === cols[0] + i);
  return contiguous ? tf.slice(x, [0, cols[0]], [-1, cols.length]) : tf.gather(x, [...cols], 1);
}

/**
 * The decision-tree output layer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { decisionTreeOutput } from "./decision_tree_output.ts";
 * await tf.setBackend("cpu");
 * const y = decisionTreeOutput().apply(tf.randomNormal([2, 37], 0, 1, "float32", 1)) as tf.Tensor;
 * const q1 = tf.sum(tf.slice(y, [0, 0], [-1, 3]), 1).arraySync() as number[];
 * assert.ok(q1.every((s) => Math.abs(s - 1) < 1e-5));
 * ```
 */
export function decisionTreeOutput(
  args: DecisionTreeOutputArgs = {},
): DecisionTreeOutput {
  return new DecisionTreeOutput(args);
}
