/**
 * One step of DOP853 (Hairer, Nørsett & Wanner, "Solving Ordinary Differential Equations I",
 * II.10; the Fortran `dop853.f`, as in SciPy's `DOP853`), as a {@link StepFn} for the solve
 * loop.
 *
 * The twelve stages, the 8th-order `y1` and `f(t1, y1)` (the FSAL thirteenth stage) are an
 * ordinary explicit step ({@link rkStep}). What is DOP853's own:
 *
 * - **The error estimate** combines a 5th- and a 3rd-order one after the norm,
 *   `err = ‖e5‖² / √(‖e5‖² + 0.01·‖e3‖²)`, which behaves like an 8th-order error for small
 *   steps (`e5 ~ dt⁶`, `e3 ~ dt⁴`). The loop measures the returned error with the solve's own
 *   norm, so the step returns `e5·‖e5‖/√(‖e5‖² + 0.01·‖e3‖²)`: for any norm `N` that scales
 *   (`N(c·x) = |c|·N(x)`), the loop's ratio is then `N(e5)` times that factor. The factor's own
 *   norms are the RMS of the scaled errors `e/(atol + rtol·max(|y0|, |y1|))` over the parts the
 *   loop measures (its `errParts`), with the solve's scalar tolerances (the smallest, where they
 *   vary by component); with the default RMS norms (and scalar tolerances) the loop's ratio is
 *   exactly DOP853's estimate as SciPy computes it. The factor stays on the device (no extra
 *   read back per step).
 * - **The dense output's three extra stages** (DOP853's stages 14–16, the tableau's
 *   `denseStages`), which its 7th-order interpolant needs, are not made here: the solve loop
 *   calls `appendDenseStages` (rk_step.ts, for any tableau's `denseStages`) on an accepted step
 *   whose interpolant it uses (an output time, an event or a dense solution inside it), as SciPy
 *   spends them only on a step with dense output inside it. A step costs 12 evaluations of `f`, such a step 15.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { linearCombination, scaledSquareSum } from "./fused_ops.ts";
import type { Reads } from "./reads.ts";
import { type RkStep, rkStep, type StepFn } from "./rk_step.ts";

/**
 * The {@link StepFn} of DOP853 for a tableau whose `bError` is the 5th-order estimate `E5`
 * (weights of `y1 − ŷ5`), with `e3` the weights of the 3rd-order one (`y1 − ŷ3`, one per stage).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { dop853 } from "./dop853.ts";
 * import { runSync } from "./reads.ts";
 * // y' = y from 1: one step of 0.5 gives e^0.5 to ~1e-7 (float32); 13 stage rows per part (the
 * // 3 dense stages are added by the solve loop only where an interpolant is used).
 * const y0 = tf.tensor2d([[1]]);
 * const step = runSync(dop853.step!(dop853, (_t, y) => y.map((x) => tf.clone(x)), 0, 0.5,
 *   [y0], [y0], {}));
 * assert.ok(Math.abs(step.y1[0].dataSync()[0] - Math.exp(0.5)) < 1e-6);
 * assert.equal(step.K[0].length, 1 + 13);
 * tf.dispose([...step.K[0].slice(2), ...step.y1, ...step.err!.filter((e) => e !== undefined)]);
 * ```
 */
export function dop853Step(
  e3: readonly number[],
): StepFn {
  // deno-lint-ignore require-yield
  return function* step(tableau, f, t0, t1, y0, f0, options): Reads<RkStep> {
    const { rtol, atol } = options.tolerances ?? { rtol: 1e-4, atol: 1e-6 };
    const dt = t1 - t0;
    const sign = (p: number) => options.signs?.[p] ?? 1;
    const measured = (p: number) => options.errParts?.[p] ?? true;
    const { K, y1, kLast, err: e5 } = tf.tidy(() => {
      const r = rkStep(tableau, f, t0, t1, y0, f0, options);
      return { K: r.K, y1: r.y1, kLast: r.kLast, err: r.err };
    }) as RkStep;
    // The combined estimate: e5 times ‖e5‖/√(‖e5‖² + 0.01·‖e3‖²) (the RMS divisors cancel).
    const err = tf.tidy(() => {
      const parts = y0.map((_, p) => p).filter((p) => measured(p) && y0[p].size > 0);
      const sums = (e: (p: number) => tf.Tensor) =>
        parts.length === 0
          ? tf.zeros([1, 1])
          : tf.addN(parts.map((p) => scaledSquareSum(e(p), y0[p], y1[p], { rtol, atol })));
      const s5 = sums((p) => e5![p]!);
      const s3 = sums((p) => linearCombination(K[p], [0, ...e3.map((w) => dt * sign(p) * w)]));
      // (both 0: e5 is 0 and so is the estimate; the floor keeps 0/0 out)
      const factor = tf.sqrt(tf.div(s5, tf.maximum(tf.add(s5, tf.mul(s3, 0.01)), 1e-37)));
      return y0.map((_, p) => (measured(p) ? tf.mul(e5![p]!, tf.reshape(factor, [])) : undefined));
    }) as (tf.Tensor | undefined)[];
    tf.dispose(e5!.filter((e): e is tf.Tensor => e !== undefined));
    return { K, y1, kLast, err };
  };
}
