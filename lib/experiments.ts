/**
 * The experiments as data: which architecture, whether to augment during training, whether to
 * average predictions over rotations and flips, and why. Step 4 trains `cnn`; Step 6 trains the
 * others through the same loop. Adding an experiment is adding an entry here.
 *
 * @module
 */
import type { ModelName } from "./model/mod.ts";

export interface Experiment {
  title: string;
  model: ModelName;
  // deno-lint-ignore no-explicit-any
  modelOptions?: Record<string, any>;
  /** Random rotations and flips of each training batch. */
  augment: boolean;
  /** Test-time averaging over the 8 rotations and flips. */
  tta: boolean;
  /** What the change is and why it should help; the report quotes it. */
  why: string;
  /** Runs by default on a CPU backend (the whole default report stays within 10 minutes). */
  cpuDefault: boolean;
}

export const EXPERIMENTS = {
  cnn: {
    title: "Course CNN",
    model: "cnn",
    augment: false,
    tta: false,
    why: "The model of the course, trained as the course does.",
    cpuDefault: true,
  },
  resnet18: {
    title: "ResNet-18",
    model: "resnet18",
    augment: false,
    tta: false,
    why:
      "A much deeper network with residual connections, as the course tried: more capacity to recognise arms, bars and bulges, at about 20 times the parameters. It keeps the ImageNet stem (7x7 convolution with stride 2, then max-pooling), which at 64x64 costs about 16 times less compute than a CIFAR-style 3x3 stride-1 stem, and ends in 37 sigmoids.",
    cpuDefault: false,
  },
  winner: {
    title: "Decision-tree output + augmentation + TTA",
    model: "constrained",
    augment: true,
    tta: true,
    why:
      "In the spirit of the Kaggle winner (Dieleman): galaxies have no preferred orientation, so rotations and flips are free extra training data and averaging over them at test time cancels orientation noise; the output layer makes predictions obey the decision tree, so no capacity is spent learning that answers sum to their parent.",
    cpuDefault: true,
  },
  augment: {
    title: "Course CNN + augmentation",
    model: "cnn",
    augment: true,
    tta: true,
    why: "Ablation: the rotation/flip augmentation and test-time averaging alone, on the course CNN.",
    cpuDefault: true,
  },
  dropout: {
    title: "Course CNN + dropout",
    model: "cnn",
    modelOptions: { dropout: 0.5 },
    augment: false,
    tta: false,
    why:
      "Ablation: dropout (rate 0.5) before the two hidden dense layers, which hold 99% of the course CNN's weights: each step trains a random half of their inputs, so no unit can rely on a few others, a regulariser against overfitting the training galaxies.",
    cpuDefault: true,
  },
  deeper: {
    title: "Deeper plain CNN",
    model: "constrained",
    modelOptions: { output: "sigmoid" },
    augment: false,
    tta: false,
    why:
      "Ablation: the deeper CNN of the decision-tree model (four 3x3 conv blocks) with the course's 37 sigmoids, to separate the effect of depth from that of the output layer.",
    cpuDefault: false,
  },
  constrained: {
    title: "Decision-tree output alone",
    model: "constrained",
    augment: false,
    tta: false,
    why: "Ablation: the deeper CNN with the decision-tree output layer, without augmentation or averaging.",
    cpuDefault: false,
  },
} as const satisfies Record<string, Experiment>;

export type ExperimentName = keyof typeof EXPERIMENTS;
export const EXPERIMENT_NAMES = Object.keys(EXPERIMENTS) as ExperimentName[];
