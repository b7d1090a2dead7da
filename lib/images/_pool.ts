/**
 * Worker threads that run `processImage` (see `_worker.ts`) on batches of images: one message
 * each way per batch, not per image (a message costs tens of microseconds on both threads, a
 * fair share of a libjpeg-turbo image). Deno workers inherit this thread's permissions; each
 * opens the backend this thread chose (its own libturbojpeg handle, or sharp).
 *
 * @module
 */
import type { PreprocessOptions } from "./_geometry.ts";
import type { BackendSpec, ImageJob, ImageResult } from "./_backend.ts";
// Type-only, and erased at run time, but it puts the worker's source into the stage's cache key.
import type { BatchMessage, BatchReply } from "./_worker.ts";

interface Pending {
  resolve(results: ImageResult[]): void;
  reject(error: Error): void;
}

/** A fixed set of workers; `submit` picks the one with the fewest batches in flight. */
export class WorkerPool {
  #workers: { worker: Worker; busy: number }[];
  #pending = new Map<number, Pending>();
  #nextId = 0;
  #failure: Error | null = null;

  constructor(count: number, readonly backend: BackendSpec) {
    this.#workers = Array.from({ length: count }, () => {
      const entry = {
        worker: new Worker(new URL("./_worker.ts", import.meta.url).href, { type: "module" }),
        busy: 0,
      };
      entry.worker.onmessage = ({ data }: MessageEvent<BatchReply>) => {
        entry.busy--;
        const pending = this.#pending.get(data.id);
        this.#pending.delete(data.id);
        pending?.resolve(data.results);
      };
      entry.worker.onerror = (event) => {
        event.preventDefault();
        this.#fail(new Error(`an image worker stopped: ${event.message}`));
      };
      return entry;
    });
  }

  /** Processes a batch of jobs (with their indices) on the least busy worker; results in order. */
  submit(
    jobs: { job: ImageJob; index: number }[],
    opts: PreprocessOptions & { jpegQuality: number },
  ): Promise<ImageResult[]> {
    if (this.#failure) return Promise.reject(this.#failure);
    const entry = this.#workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    entry.busy++;
    const message: BatchMessage = {
      id: this.#nextId++,
      jobs,
      opts: { crop: opts.crop, size: opts.size, jpegQuality: opts.jpegQuality },
      backend: this.backend,
    };
    return new Promise((resolve, reject) => {
      this.#pending.set(message.id, { resolve, reject });
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
