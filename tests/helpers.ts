/**
 * Helpers the tests share: a tensor's values as numbers, and element-wise comparison with a
 * tolerance that the test states.
 *
 * @module
 */
import assert from "node:assert/strict";
import type * as tf from "@tensorflow/tfjs";

/** A tensor's values as plain numbers (read with `await data()`, which every backend supports). */
export async function values(x: tf.Tensor): Promise<number[]> {
  return Array.from(await x.data());
}

/** How far apart two numbers may be: `|actual − expected| ≤ atol + rtol·|expected|`. */
export interface Tolerance {
  /** Relative part (default 0). */
  rtol?: number;
  /** Absolute part (default 0). */
  atol?: number;
}

/**
 * Asserts that `actual` and `expected` have the same length and agree element-wise within
 * `atol + rtol·|expected|` (numpy's `allclose`), naming the first element that does not.
 *
 * @param actual the computed values
 * @param expected the reference values
 * @param tolerance the tolerance, with the reason for it stated at the call
 * @param what what is compared, for the message
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: Tolerance,
  what = "values",
): void {
  const { rtol = 0, atol = 0 } = tolerance;
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    const tol = atol + rtol * Math.abs(e);
    assert.ok(Math.abs(a - e) <= tol, `${what}[${i}]: ${a} vs ${e} (±${tol})`);
  }
}
