/**
 * Solves as generators: a solve yields every tensor it must read back and receives its values,
 * so that one loop serves asynchronous reads (`odeint`, every backend) and synchronous ones
 * (`odeintSync`, which keeps a gradient tape intact).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { hasFusedKernels, scaledSquareSum } from "./fused_ops.ts";

/** A solve as a generator: it yields every tensor it must read and receives its values. */
export type Reads<T> = Generator<tf.Tensor, T, ArrayLike<number>>;

/**
 * Runs a solve generator reading tensors asynchronously (works on every backend).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { runAsync } from "./reads.ts";
 * const x = tf.tensor([3]);
 * assert.equal(await runAsync((function* () { return (yield x)[0] * 2; })()), 6);
 * x.dispose();
 * ```
 */
export async function runAsync<T>(gen: Reads<T>): Promise<T> {
  let next = gen.next();
  while (!next.done) next = gen.next(await next.value.data());
  return next.value;
}

/**
 * Runs a solve generator reading tensors synchronously (cpu and wasm; keeps a tape intact).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { runSync } from "./reads.ts";
 * const x = tf.tensor([3]);
 * assert.equal(runSync((function* () { return (yield x)[0] * 2; })()), 6);
 * x.dispose();
 * ```
 */
export function runSync<T>(gen: Reads<T>): T {
  let next = gen.next();
  while (!next.done) next = gen.next(next.value.dataSync());
  return next.value;
}

/**
 * Whether every element of some tensors is finite: with the fused kernels, each tensor's sum of
 * squares of `x·1e-30` (finite for any finite float32), else `x·0` summed (0, or NaN).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { allFinite, runAsync } from "./reads.ts";
 * const x = tf.tensor2d([[1, NaN]]);
 * assert.equal(await runAsync(allFinite([x])), false);
 * x.dispose();
 * ```
 */
export function* allFinite(xs: tf.Tensor[]): Reads<boolean> {
  const t = tf.tidy(() =>
    hasFusedKernels()
      // (scaled by 1e-30 so that no finite float32 overflows when squared)
      ? tf.concat(xs.map((x) => scaledSquareSum(x, x, x, { rtol: 0, atol: 1e30 })), 1)
      : tf.addN(xs.map((x) => tf.sum(tf.mul(x, 0))))
  );
  try {
    return Array.from(yield t).every(Number.isFinite);
  } finally {
    t.dispose();
  }
}

/**
 * Runs `run` (a solve under a gradient tape) and, if it throws, frees what the tape saved for
 * its operations: tfjs keeps a clone of every input a recorded kernel's gradient needs until
 * the gradient is taken, so a differentiated function that throws would leave them all behind
 * (thousands of tensors per failed solve). The tape's nodes from before `run` are kept.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { freeTapeOnThrow } from "./reads.ts";
 * const x = tf.scalar(2);
 * const before = tf.memory().numTensors;
 * assert.throws(() =>
 *   tf.grad((v: tf.Tensor) =>
 *     freeTapeOnThrow(() => {
 *       tf.exp(tf.mul(v, v));
 *       throw new Error("boom");
 *     })
 *   )(x)
 * );
 * assert.equal(tf.memory().numTensors, before);
 * x.dispose();
 * ```
 */
export function freeTapeOnThrow<T>(run: () => T): T {
  const engine = tf.engine();
  const tape = engine.isTapeOn() ? engine.state.activeTape : undefined;
  const mark = tape?.length ?? 0;
  try {
    return run();
  } catch (error) {
    if (tape !== undefined && engine.state.activeTape === tape) {
      for (const node of tape.splice(mark)) node.saved?.forEach((t) => t.dispose());
    }
    throw error;
  }
}
