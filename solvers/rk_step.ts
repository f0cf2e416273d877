/**
 * One explicit Runge–Kutta step of any {@link Tableau}.
 *
 * The state is a row `[1, n]`; the stages are stacked as rows `K = [y0, k_0, k_1, …]`, so that
 * every stage input `y0 + dt·Σ_j a_ij k_j`, the solution `y1`, the error estimate and the dense
 * output are each a single matrix product of a row of host-computed weights with `K`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tableau } from "./tableau.ts";

/** Next float64 after `x` in the direction of `toward`. */
export function nextAfter(x: number, toward: number): number {
  if (x === toward || Number.isNaN(x)) return x;
  if (x === 0) return toward > 0 ? Number.MIN_VALUE : -Number.MIN_VALUE;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigInt64(0);
  view.setBigInt64(0, (toward > x) === (x > 0) ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
}

/** What one step computes. */
export interface RkStep {
  /** The stacked rows `[y0, k_0, …, k_{s−1}]`, `[s + 1, n]`. */
  K: tf.Tensor;
  /** The solution at `t0 + dt`. */
  y1: tf.Tensor;
  /** The last stage (for an FSAL method, `f(t1, y1)`). */
  kLast: tf.Tensor;
  /** The embedded error estimate `dt·Σ (b_i − b̂_i) k_i` (adaptive methods only). */
  err?: tf.Tensor;
}

/**
 * Takes one step from `(t0, y0)` to `t1` (either direction) with `f0 = f(t0, y0)`; `f` maps a
 * time and a row to a row. A stage at the end of the step (`c_i = 1`) is evaluated just before `t1`
 * (the left limit, for fields with a jump at the end of the step). Run it inside `tf.tidy`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import assert from "node:assert/strict";
 * import { rkStep } from "./rk_step.ts";
 * import { rk4 } from "./rk4.ts";
 * // y' = y from y0 = 1: one rk4 step of 0.1 matches e^0.1 to O(h^5).
 * const y0 = tf.tensor2d([[1]]);
 * const { y1 } = rkStep(rk4, (_t, y) => y, 0, 0.1, y0, y0);
 * assert.ok(Math.abs((await y1.data())[0] - Math.exp(0.1)) < 1e-6);
 * ```
 */
export function rkStep(
  tableau: Tableau,
  f: (t: number, y: tf.Tensor) => tf.Tensor,
  t0: number,
  t1: number,
  y0: tf.Tensor,
  f0: tf.Tensor,
): RkStep {
  const { a, b, c, bError, stages } = tableau;
  const dt = t1 - t0;
  const weights = (w0: number, w: readonly number[]) =>
    tf.tensor2d([w0, ...w.map((x) => dt * x)], [1, w.length + 1]);
  let K = tf.concat([y0, f0], 0);
  let kLast = f0;
  let yi = y0;
  for (let i = 1; i < stages; i++) {
    yi = tf.matMul(weights(1, a[i]), K);
    kLast = f(c[i] === 1 ? nextAfter(t1, t0) : t0 + c[i] * dt, yi);
    K = tf.concat([K, kLast], 0);
  }
  // FSAL: the last stage was evaluated at y1 itself.
  const y1 = tableau.fsal ? yi : tf.matMul(weights(1, b), K);
  const err = bError === undefined ? undefined : tf.matMul(weights(0, bError), K);
  return { K, y1, kLast, err };
}
