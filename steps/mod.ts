/**
 * The pipeline in order. Each stage names the stages whose cached files it reads; the runner
 * runs what a target needs, upstream first, and reuses what is already cached.
 *
 * @module
 */
import type { Stage } from "../pipeline/stage.ts";
import data from "./data.ts";
import explore from "./explore.ts";
import preprocess from "./preprocess.ts";
import architecture from "./architecture.ts";
import train from "./train.ts";
import evaluate from "./evaluate.ts";
import modified from "./modified.ts";
import render from "../report/stage.ts";

/** Every stage, upstream first. */
export const STAGES: readonly Stage[] = [
  data,
  explore,
  preprocess,
  architecture,
  train,
  evaluate,
  modified,
  render,
] as Stage[];

/** Stage names as `--force` and the tasks know them. */
export const STAGE_NAMES: readonly string[] = STAGES.map((s) => s.name);
