/**
 * Worker entry of `WorkerPool`: runs `processImage` for each job it is sent and posts the result
 * back, handing over the pixel buffer instead of copying it.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { type ImageJob, type PreprocessOptions, processImage } from "./preprocess.ts";

/** What the pool sends for each image. */
export interface JobMessage {
  job: ImageJob;
  index: number;
  opts: PreprocessOptions & { jpegQuality: number };
}

self.onmessage = async ({ data }: MessageEvent<JobMessage>) => {
  const result = await processImage(data.job, data.index, data.opts);
  if ("rgb" in result) {
    // sharp's buffers may be views into a shared pool: copy out when the view isn't the whole buffer.
    const rgb = result.rgb.byteLength === result.rgb.buffer.byteLength ? result.rgb : result.rgb.slice();
    self.postMessage({ index: result.index, rgb }, [rgb.buffer as ArrayBuffer]);
  } else {
    self.postMessage(result);
  }
};
