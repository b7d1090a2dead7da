/**
 * Data-parallel training on several cores: WASM threads do not start under Deno, so each worker
 * runs its own TensorFlow.js engine with a replica of the model and of the Adam state (as in
 * PyTorch's DistributedDataParallel). Each step every worker computes the gradients of its shard
 * of the batch, the main thread averages them weighted by shard size, in worker order (a fixed
 * reduction order, so runs are reproducible), and every replica applies the same Adam update, so
 * the trainable weights stay identical everywhere without ever being sent.
 *
 * BatchNorm uses each shard's own batch statistics in training mode (DDP without SyncBN): a model
 * without BatchNorm gets the full-batch gradient up to float rounding, one with BatchNorm a close
 * but not identical one. The moving statistics of the replicas are averaged when the main thread
 * takes the state back ({@link ParallelTrainer.pull}); their updates are linear, so that equals
 * averaging after every step.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { NUM_CLASSES } from "../classes.ts";
import { type Dataset, fillBatch } from "../data/batches.ts";
import type { AdamState } from "./adam.ts";
import { mixSeed } from "./rng.ts";
import type { Reply, Request } from "./_protocol.ts";
// Type-only, so nothing runs here; it makes the worker's source part of the stages' cache keys,
// which follow imports (the worker itself is started from a URL).
import type { Replica as _Replica } from "./_worker.ts";

type Payload = Request extends infer R ? R extends { id: number } ? Omit<R, "id"> : never : never;

/** One worker and its pending requests. */
class Peer {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve(r: Reply): void; reject(e: Error): void }>();
  #next = 0;
  #failed: Error | null = null;

  constructor(index: number) {
    this.#worker = new Worker(new URL("./_worker.ts", import.meta.url).href, { type: "module" });
    this.#worker.onmessage = (event: MessageEvent<Reply>) => {
      const reply = event.data;
      const waiter = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      if (reply.error !== undefined) waiter?.reject(new Error(`trainer worker ${index}: ${reply.error}`));
      else waiter?.resolve(reply);
    };
    this.#worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#failed = new Error(`trainer worker ${index} failed: ${event.message}`);
      for (const waiter of this.#pending.values()) waiter.reject(this.#failed);
      this.#pending.clear();
    };
  }

  call(payload: Payload, transfer: Transferable[] = []): Promise<Reply> {
    if (this.#failed) return Promise.reject(this.#failed);
    const id = this.#next++;
    return new Promise<Reply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, ...payload }, transfer);
    });
  }

  terminate(): void {
    this.#worker.terminate();
    for (const waiter of this.#pending.values()) waiter.reject(new Error("trainer worker terminated"));
    this.#pending.clear();
  }
}

/** Sizes of `count` rows split into `parts` contiguous shards, the larger ones first. */
export function shardSizes(count: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, k) => Math.floor(count / parts) + (k < count % parts ? 1 : 0));
}

/** Options of {@link ParallelTrainer.start}. */
export interface ParallelOptions {
  workers: number;
  backend: "wasm" | "cpu";
  fastKernels: boolean;
  /** Convolutions through a BLAS, as on the main thread. */
  blas: boolean;
  learningRate: number;
  /** Adam state to continue from (a resumed run), or null for a fresh optimiser. */
  adam: AdamState | null;
  imageSize: number;
}

/** The workers of one training run; call {@link dispose} when done. */
export class ParallelTrainer {
  readonly #peers: Peer[];
  readonly #grads: Float32Array[];
  readonly #average: Float32Array;
  readonly #trainable: number[];
  readonly #frozen: number[];
  readonly #size: number;
  /** Adam updates posted but not yet acknowledged; awaited before the next use of the replicas. */
  #applying: Promise<unknown> = Promise.resolve();

  private constructor(
    peers: Peer[],
    grads: Float32Array[],
    average: Float32Array,
    model: tfl.LayersModel,
    size: number,
  ) {
    this.#peers = peers;
    this.#grads = grads;
    this.#average = average;
    const trainable = new Set(model.trainableWeights);
    const indices = model.weights.map((w, i) => ({ i, t: trainable.has(w) }));
    this.#trainable = indices.filter((w) => w.t).map((w) => w.i);
    this.#frozen = indices.filter((w) => !w.t).map((w) => w.i);
    this.#size = size;
  }

  /** Starts the workers with replicas of `model` (its current weights). */
  static async start(model: tfl.LayersModel, options: ParallelOptions): Promise<ParallelTrainer> {
    const total = model.trainableWeights.reduce((n, w) => n + tf.util.sizeFromShape(w.shape as number[]), 0);
    const average = new SharedArrayBuffer(total * 4);
    const buffers = Array.from({ length: options.workers }, () => new SharedArrayBuffer(total * 4));
    const peers = buffers.map((_, k) => new Peer(k));
    const trainer = new ParallelTrainer(
      peers,
      buffers.map((b) => new Float32Array(b)),
      new Float32Array(average),
      model,
      options.imageSize,
    );
    try {
      const topology = model.toJSON(undefined, false);
      await Promise.all(peers.map((peer, k) =>
        peer.call({
          op: "init",
          backend: options.backend,
          fastKernels: options.fastKernels,
          blas: options.blas,
          topology,
          weights: model.weights.map((w) => (w.read().dataSync() as Float32Array).slice()),
          learningRate: options.learningRate,
          adam: options.adam,
          size: options.imageSize,
          grads: buffers[k],
          average,
        })
      ));
    } catch (error) {
      trainer.dispose();
      throw error;
    }
    return trainer;
  }

  /**
   * One optimisation step on a batch ([rows, S, S, 3] pixels, [rows, 37] labels): the loss of the
   * whole batch (shard losses weighted by shard size). The Adam update is posted, not awaited, so
   * the caller can prepare the next batch meanwhile.
   */
  async step(x: Float32Array, y: Float32Array, rows: number, dropoutSeed: number): Promise<number> {
    // Posted without waiting for the previous Adam update to be acknowledged: each worker handles
    // its requests in order, so it applies that update before this step, and it replies to this
    // step (after which alone the shared average is rewritten) only once the update is done.
    const sizes = shardSizes(rows, this.#peers.length);
    const pixels = this.#size * this.#size * 3;
    let start = 0;
    const replies = sizes.map((n, k) => {
      const from = start;
      start += n;
      if (n === 0) return Promise.resolve(null);
      const xs = x.slice(from * pixels, (from + n) * pixels);
      const ys = y.slice(from * NUM_CLASSES, (from + n) * NUM_CLASSES);
      // Each shard draws its own dropout masks.
      const seed = mixSeed(dropoutSeed, k);
      return this.#peers[k].call({ op: "step", x: xs, y: ys, rows: n, dropoutSeed: seed }, [
        xs.buffer,
        ys.buffer,
      ]);
    });
    const [results] = await Promise.all([Promise.all(replies), this.#applying]);
    // Fixed reduction order: worker 0, 1, ..., each weighted by its share of the batch.
    const average = this.#average;
    let loss = 0;
    let first = true;
    results.forEach((reply, k) => {
      if (reply === null) return;
      const share = sizes[k] / rows;
      const g = this.#grads[k];
      loss += share * reply.loss!;
      if (first) {
        for (let i = 0; i < g.length; i++) average[i] = share * g[i];
        first = false;
      } else {
        for (let i = 0; i < g.length; i++) average[i] += share * g[i];
      }
    });
    const applying = Promise.all(this.#peers.map((peer) => peer.call({ op: "apply" })));
    applying.catch(() => {}); // awaited (and rethrown) by the next use; never an unhandled rejection
    this.#applying = applying;
    return loss;
  }

  /** Mean squared error over `indices` in inference mode, batched as {@link evaluateMse} does. */
  async evaluate(dataset: Dataset, indices: ArrayLike<number>, batchSize: number): Promise<number | null> {
    await this.#applying;
    if (indices.length === 0) return null;
    const all = Array.from(indices);
    const chunks = Math.ceil(all.length / batchSize);
    const sse = new Float64Array(chunks);
    let next = 0;
    // Two requests in flight per worker, so one batch is prepared while the other is computed.
    const lanes = this.#peers.flatMap((peer) => [peer, peer]).map(async (peer) => {
      while (next < chunks) {
        const c = next++;
        const part = all.slice(c * batchSize, (c + 1) * batchSize);
        const { x, y } = fillBatch(dataset, part);
        const reply = await peer.call({ op: "eval", x, y, rows: part.length }, [x.buffer, y.buffer]);
        sse[c] = reply.sse!;
      }
    });
    await Promise.all(lanes);
    let sum = 0;
    for (const s of sse) sum += s; // batch order, as the single-process evaluation sums
    return sum / (all.length * NUM_CLASSES);
  }

  /**
   * Averages the replicas' BatchNorm moving statistics (and other non-trainable weights), sets
   * them in every replica, writes all weights into `model` and returns the Adam state.
   */
  async pull(model: tfl.LayersModel): Promise<AdamState> {
    await this.#applying;
    const [lead, ...others] = await Promise.all(
      this.#peers.map((peer, k) =>
        peer.call({
          op: "getState",
          indices: k === 0 ? model.weights.map((_, i) => i) : this.#frozen,
          adam: k === 0,
        })
      ),
    );
    const weights = lead.weights!;
    const frozen = this.#frozen.map((i) => weights[i]);
    if (others.length > 0) {
      frozen.forEach((sum, j) => {
        for (const other of others) {
          const a = other.weights![j];
          for (let i = 0; i < sum.length; i++) sum[i] += a[i];
        }
        for (let i = 0; i < sum.length; i++) sum[i] /= this.#peers.length;
      });
      await Promise.all(
        this.#peers.map((peer) => peer.call({ op: "setWeights", indices: this.#frozen, arrays: frozen })),
      );
    }
    tf.tidy(() =>
      model.weights.forEach((w, i) => w.write(tf.tensor(weights[i], w.shape as number[], "float32")))
    );
    return lead.adam!;
  }

  /** The trainable weights of every replica (for tests: they must be identical). */
  async replicaWeights(): Promise<Float32Array[][]> {
    await this.#applying;
    const replies = await Promise.all(
      this.#peers.map((peer) => peer.call({ op: "getState", indices: this.#trainable, adam: false })),
    );
    return replies.map((r) => r.weights!);
  }

  dispose(): void {
    for (const peer of this.#peers) peer.terminate();
  }
}
