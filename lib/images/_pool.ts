/**
 * Worker threads that run `processImage` (see `_worker.ts`), each with a few images in flight.
 * Deno workers inherit this thread's permissions; sharp loads in each of them.
 *
 * @module
 */
import type { ImageJob, ImageResult, PreprocessOptions } from "./preprocess.ts";
// Type-only, and erased at run time, but it puts the worker's source into the stage's cache key.
import type { JobMessage } from "./_worker.ts";

interface Pending {
  resolve(result: ImageResult): void;
  reject(error: Error): void;
}

/** A fixed set of workers; `submit` picks the one with the fewest images in flight. */
export class WorkerPool {
  #workers: { worker: Worker; busy: number }[];
  #pending = new Map<number, Pending>();
  #failure: Error | null = null;

  constructor(count: number, readonly inFlight: number) {
    this.#workers = Array.from({ length: count }, () => {
      const entry = {
        worker: new Worker(new URL("./_worker.ts", import.meta.url).href, { type: "module" }),
        busy: 0,
      };
      entry.worker.onmessage = ({ data }: MessageEvent<ImageResult>) => {
        entry.busy--;
        const pending = this.#pending.get(data.index);
        this.#pending.delete(data.index);
        pending?.resolve(data);
      };
      entry.worker.onerror = (event) => {
        event.preventDefault();
        this.#fail(new Error(`an image worker stopped: ${event.message}`));
      };
      return entry;
    });
  }

  /** Processes one job on the least busy worker. */
  submit(
    job: ImageJob,
    index: number,
    opts: PreprocessOptions & { jpegQuality: number },
  ): Promise<ImageResult> {
    if (this.#failure) return Promise.reject(this.#failure);
    const entry = this.#workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    entry.busy++;
    const message: JobMessage = {
      job,
      index,
      opts: { crop: opts.crop, size: opts.size, jpegQuality: opts.jpegQuality },
    };
    return new Promise((resolve, reject) => {
      this.#pending.set(index, { resolve, reject });
      entry.worker.postMessage(message);
    });
  }

  #fail(error: Error): void {
    this.#failure = error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }

  close(): void {
    for (const { worker } of this.#workers) worker.terminate();
    this.#fail(new Error("the image workers were closed"));
  }
}
