/**
 * What a stage is: a named program from its params and its upstream stages' cached outputs to
 * files in its own cache folder. Stages never share memory; they read each other's files.
 *
 * @module
 */
import type { Config } from "./config.ts";
import type { Progress } from "./progress.ts";

/** What a finished upstream stage offers downstream: its folder and the result it returned. */
export interface StageOutput<R = unknown> {
  /** The stage's committed cache folder; read files from here. */
  dir: string;
  key: string;
  result: R;
}

/** Side effects a stage may use, injected so tests can run stages quietly and deterministically. */
export interface StageContext<P> {
  params: P;
  /** Write every output file under this folder; it becomes the cache entry on success. */
  dir: string;
  /** A committed upstream stage named in `deps`. */
  input<R = unknown>(stage: string): StageOutput<R>;
  log(line: string): void;
  progress(label: string, total: number): Progress;
  /** The identifier of this invocation, recorded in manifests. */
  runId: string;
  /** The TensorFlow.js backend chosen for this run (only for stages with `usesTf`). */
  backend: BackendInfo | null;
}

/** Which TensorFlow.js backend runs and why the ones before it were skipped. */
export interface BackendInfo {
  name: string;
  requested: string;
  reason: string;
  skipped: { name: string; why: string }[];
  versions: Record<string, string>;
}

/** A stage of the graph. `P` is its params (JSON), `R` the JSON result it returns. */
export interface Stage<P = unknown, R = unknown> {
  /** Command-line name: `data`, `step1` ... `step6`, `render`. */
  name: string;
  title: string;
  /** `import.meta.url` of the module whose source (and local imports) enters the key. */
  module: string;
  deps: readonly string[];
  /** Needs TensorFlow.js; the backend and tfjs version then enter the key. */
  usesTf?: boolean;
  /** Keep a killed attempt's files (checkpoints) for the next attempt with the same key. */
  resumable?: boolean;
  params(config: Config): P;
  /** A cheap fingerprint of inputs from outside the cache (the data folder, templates). */
  fingerprint?(params: P, root: string): Promise<unknown>;
  /** Library versions beyond Deno and tfjs that change this stage's results. */
  versions?(): Promise<Record<string, string>> | Record<string, string>;
  run(ctx: StageContext<P>): Promise<R>;
}

/** Identity helper that keeps a stage definition's types. */
export function defineStage<P, R>(stage: Stage<P, R>): Stage<P, R> {
  return stage;
}
