/**
 * Data for the training harness: a split makes the batch of any list of example indices, and
 * the harness chooses the indices (shuffled every epoch with a seeded generator).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { permutation } from "../../models/data/mod.ts";

/**
 * One split of a data set (train, val or test).
 *
 * The harness disposes every batch it gets (with `tf.dispose`) once the step is done, so
 * `batch` must return tensors it may dispose: fresh ones (`tf.gather`), or `tf.clone`s of
 * persistent ones (a clone shares the data and costs nothing).
 */
export interface Split<B> {
  /** Number of examples. */
  readonly size: number;
  /** The batch of the examples at `indices`, in that order. */
  batch(indices: number[]): B;
}

/** The splits the harness trains and evaluates on. */
export interface TrainData<B> {
  /** Trained on every epoch; evaluated at metric epochs and at the end. */
  train: Split<B>;
  /** Evaluated at metric epochs and at the end. */
  val: Split<B>;
  /** Evaluated once at the end, on the best model (optional). */
  test?: Split<B>;
}

/**
 * A split over tensors that share their first (example) axis: `batch(indices)` gathers the
 * same rows of every tensor. The tensors stay owned by the caller.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { tensorSplit } from "@fasterode/fasterode/experiments";
 *
 * const x = tf.tensor2d([[0, 0], [1, 1], [2, 2]]);
 * const y = tf.tensor1d([0, 10, 20]);
 * const split = tensorSplit({ x, y });
 * assert.equal(split.size, 3);
 * const batch = split.batch([2, 0]);
 * assert.deepEqual(Array.from(await batch.y.data()), [20, 0]);
 * tf.dispose([batch, x, y]);
 * ```
 */
export function tensorSplit<T extends Record<string, tf.Tensor>>(tensors: T): Split<T> {
  const entries = Object.entries(tensors);
  if (entries.length === 0) throw new TypeError("tensorSplit: no tensors given");
  const size = entries[0][1].shape[0];
  for (const [name, t] of entries) {
    if (!(t instanceof tf.Tensor) || t.rank === 0) {
      throw new TypeError(`tensorSplit: "${name}" must be a tensor with an example axis`);
    }
    if (t.shape[0] !== size) {
      throw new TypeError(
        `tensorSplit: "${name}" has ${t.shape[0]} examples, "${entries[0][0]}" has ${size}`,
      );
    }
  }
  return {
    size,
    batch(indices: number[]): T {
      for (const i of indices) {
        if (!(Number.isInteger(i) && i >= 0 && i < size)) {
          throw new RangeError(`tensorSplit: index ${i} is outside [0, ${size})`);
        }
      }
      return tf.tidy(() => {
        const idx = tf.tensor1d(indices, "int32");
        return Object.fromEntries(entries.map(([name, t]) => [name, tf.gather(t, idx)])) as T;
      });
    },
  };
}

/**
 * The indices `0 … size−1` cut into batches of `batchSize` (the last one may be smaller), in a
 * random order drawn from `random` (the models' one shuffle, `permutation`; e.g.
 * `seededRandom(seed)`), or in order without it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { batchIndices } from "@fasterode/fasterode/experiments";
 * import { seededRandom } from "@fasterode/fasterode/models/data";
 *
 * assert.deepEqual(batchIndices(5, 2), [[0, 1], [2, 3], [4]]);
 * const shuffled = batchIndices(5, 2, seededRandom(0));
 * assert.deepEqual(shuffled.flat().sort(), [0, 1, 2, 3, 4]);
 * ```
 */
export function batchIndices(
  size: number,
  batchSize: number,
  random?: () => number,
): number[][] {
  if (!(Number.isInteger(size) && size >= 0)) {
    throw new RangeError(`batchIndices: size must be an integer >= 0, got ${size}`);
  }
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) {
    throw new RangeError(`batchIndices: batchSize must be an integer >= 1, got ${batchSize}`);
  }
  const order = random ? permutation(size, random) : Array.from({ length: size }, (_, i) => i);
  const batches: number[][] = [];
  for (let i = 0; i < size; i += batchSize) batches.push(order.slice(i, i + batchSize));
  return batches;
}

/**
 * Checks that `split` is a {@link Split} with at least one example; throws a `TypeError`
 * naming it as `data.<what>`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkSplit } from "./splits.ts";
 * checkSplit("train", { size: 3, batch: (indices) => indices });
 * assert.throws(() => checkSplit("val", { size: 0, batch: () => [] }), /data\.val must be/);
 * ```
 */
export function checkSplit<B>(what: string, split: Split<B> | undefined): void {
  if (
    split === null || typeof split !== "object" || typeof split.batch !== "function" ||
    !(Number.isInteger(split.size) && split.size >= 1)
  ) {
    throw new TypeError(`train: data.${what} must be a split with size >= 1 and batch(indices)`);
  }
}
