/**
 * Worker entry of `WorkerPool`: runs `processImage` for each job of a batch it is sent and posts
 * the results back in one message, handing over the pixel buffers instead of copying them.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import type { PreprocessOptions } from "./_geometry.ts";
import {
  type BackendSpec,
  type ImageJob,
  type ImageResult,
  openTurboPreprocessor,
  type Preprocessor,
  processImage,
} from "./_backend.ts";

/** The backend `spec` names; sharp (and its ~100 ms of loading) only when asked for. */
async function open(spec: BackendSpec): Promise<Preprocessor> {
  if (spec.kind === "libjpeg-turbo") return openTurboPreprocessor(spec.path);
  const { openPreprocessor } = await import("./preprocess.ts");
  return openPreprocessor(spec);
}

/** What the pool sends: a batch of jobs, all processed before one reply. */
export interface BatchMessage {
  id: number;
  jobs: { job: ImageJob; index: number }[];
  opts: PreprocessOptions & { jpegQuality: number };
  /** The backend the pool's thread chose; opened once here (a load failure stops the worker). */
  backend: BackendSpec;
}

/** The reply: one result per job, in the batch's order. */
export interface BatchReply {
  id: number;
  results: ImageResult[];
}

let opened: { key: string; preprocessor: Preprocessor } | undefined;

self.onmessage = async ({ data }: MessageEvent<BatchMessage>) => {
  const key = JSON.stringify(data.backend);
  if (opened?.key !== key) opened = { key, preprocessor: await open(data.backend) };
  const preprocessor = opened.preprocessor;
  // sharp works on libuv's threads: the whole batch in flight at once. libjpeg-turbo is synchronous.
  const results = await Promise.all(
    data.jobs.map(({ job, index }) => processImage(job, index, data.opts, preprocessor)),
  );
  const transfer: ArrayBuffer[] = [];
  for (const result of results) {
    if (!("rgb" in result)) continue;
    // sharp's buffers may be views into a shared pool: copy out when the view isn't the whole buffer.
    if (result.rgb.byteLength !== result.rgb.buffer.byteLength) result.rgb = result.rgb.slice();
    transfer.push(result.rgb.buffer as ArrayBuffer);
  }
  const reply: BatchReply = { id: data.id, results };
  self.postMessage(reply, transfer);
};
