/**
 * One explicit Runge–Kutta step of any {@link Tableau}, on a state given as a list of parts.
 *
 * Each part is a row `[1, n_p]` (the solver passes rows in and out of `f` as views); its
 * stages are kept as a list `K_p = [y0, k_0, k_1, …]`, so that every stage input
 * `y0 + dt·Σ_j a_ij k_j`, the solution `y1`, the error estimate and the dense output are each
 * one {@link linearCombination} of `K_p` with host-computed weights: one kernel per stage and
 * part on `cpu` and `wasm`, whatever the part's shape. Parts are never packed into one tensor,
 * and stages are never stacked.
 *
 * Two per-part roles serve the adjoint's augmented state: a part's `sign` (−1: the solver
 * integrates `−k` where `f` returns `k`, folded into the weights instead of negating `k`), and
 * `passive` parts, whose stage inputs `f` does not read (the parameter adjoints, pure
 * quadratures): they get no stage sums, only `y1` (and the error estimate when it is measured).
 *
 * A tableau's extra dense-output stages (`denseStages`, DOP853's 14–16) are evaluated after an
 * accepted step, only where the solve loop uses its interpolant ({@linkcode appendDenseStages}).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { linearCombination } from "./fused_ops.ts";
import type { Reads } from "./reads.ts";
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

/** How the step treats each part (all parts active with sign +1 when omitted). */
export interface PartRoles {
  /** −1 where the solver integrates `−f` for that part (`f`'s output is not negated). */
  signs?: readonly number[];
  /** True where `f` does not read that part of its input (its stage inputs are not formed). */
  passive?: readonly boolean[];
}

/** What one step computes, one entry per part. */
export interface RkStep {
  /** The stages `[y0, k_0, …, k_{s−1}]` of each part, rows. */
  K: tf.Tensor[][];
  /** The solution at `t0 + dt`, rows. */
  y1: tf.Tensor[];
  /** The last stage (for an FSAL method, `f(t1, y1)`), rows. */
  kLast: tf.Tensor[];
  /**
   * The embedded error estimate `dt·Σ (b_i − b̂_i) k_i` (adaptive methods only), for
   * the parts `errParts` asks for (undefined entries elsewhere).
   */
  err?: (tf.Tensor | undefined)[];
}

/** Options of {@link rkStep}. */
export interface RkStepOptions extends PartRoles {
  /** Parts whose error estimate is wanted (default: all). */
  errParts?: readonly boolean[];
  /**
   * The solve's tolerances (the smallest where they vary by component), for a {@link StepFn}
   * whose inner iterations (Newton) converge to a fraction of them; `rkStep` ignores them.
   */
  tolerances?: { rtol: number; atol: number };
}

/**
 * A method's own step, replacing {@link rkStep} (for implicit methods): same arguments, same
 * result, as a generator that yields each tensor it must read (so Newton iterations can check
 * convergence under both async and sync reads) and disposes what it yields. The loop does not
 * wrap it in `tf.tidy`: every tensor it returns, except the `y0` and `f0` it was given, must be
 * fresh (the loop owns and disposes them), and it disposes its own intermediates.
 */
export type StepFn = (
  tableau: Tableau,
  f: (t: number, y: tf.Tensor[]) => tf.Tensor[],
  t0: number,
  t1: number,
  y0: tf.Tensor[],
  f0: tf.Tensor[],
  options: RkStepOptions,
) => Reads<RkStep>;

/** `w0` for `y0`, then `scale·w_j` for the stages. */
function weights(w0: number, w: readonly number[], scale: number): number[] {
  return [w0, ...w.map((x) => scale * x)];
}

/**
 * Takes one step from `(t0, y0)` to `t1` (either direction) with `f0 = f(t0, y0)`; `f` maps a
 * time and a list of rows to a list of rows. A stage at the end of the step (`c_i = 1`) is
 * evaluated just before `t1` (the left limit, for fields with a jump at the end of the step).
 * Run it inside `tf.tidy`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import assert from "node:assert/strict";
 * import { getMethod, rkStep } from "@fasterode/fasterode";
 * const rk4 = getMethod("rk4");
 * // y' = y from y0 = 1: one rk4 step of 0.1 matches e^0.1 to O(h^5).
 * const y0 = tf.tensor2d([[1]]);
 * const { y1 } = rkStep(rk4, (_t, y) => y, 0, 0.1, [y0], [y0]);
 * assert.ok(Math.abs((await y1[0].data())[0] - Math.exp(0.1)) < 1e-6);
 * ```
 */
export function rkStep(
  tableau: Tableau,
  f: (t: number, y: tf.Tensor[]) => tf.Tensor[],
  t0: number,
  t1: number,
  y0: tf.Tensor[],
  f0: tf.Tensor[],
  options: RkStepOptions = {},
): RkStep {
  const { a, b, c, bError, stages } = tableau;
  const { signs, passive, errParts } = options;
  const dt = t1 - t0;
  const sign = (p: number) => signs?.[p] ?? 1;
  const isPassive = (p: number) => passive?.[p] ?? false;
  const K = y0.map((y, p) => [y, f0[p]]);
  let kLast = f0;
  let yi = y0;
  for (let i = 1; i < stages; i++) {
    const prev = yi;
    yi = y0.map((y, p) =>
      isPassive(p) ? y : linearCombination(K[p], weights(1, a[i], dt * sign(p)))
    );
    // A stage input is dead once its stage is evaluated: free it now rather than at the end of
    // the caller's tidy (for a 7-stage method, 5 copies of the state fewer at the peak). The
    // last one is y1 itself for FSAL methods.
    if (prev !== y0) prev.forEach((x, p) => x !== y0[p] && !K[p].includes(x) && x.dispose());
    kLast = f(c[i] === 1 ? nextAfter(t1, t0) : t0 + c[i] * dt, yi);
    K.forEach((Kp, p) => Kp.push(kLast[p]));
  }
  if (!tableau.fsal && yi !== y0) {
    yi.forEach((x, p) => x !== y0[p] && !K[p].includes(x) && x.dispose());
  }
  // FSAL: the last stage was evaluated at y1 itself.
  const y1 = y0.map((_, p) =>
    tableau.fsal && !isPassive(p) ? yi[p] : linearCombination(K[p], weights(1, b, dt * sign(p)))
  );
  let err: (tf.Tensor | undefined)[] | undefined;
  if (bError !== undefined) {
    err = K.map((Kp, p) =>
      (errParts?.[p] ?? true) ? linearCombination(Kp, weights(0, bError, dt * sign(p))) : undefined
    );
  }
  return { K, y1, kLast, err };
}

/**
 * Evaluates a tableau's `denseStages` after a step from `t0` to `t1` and appends them to each
 * part's stages `K[p] = [y0, k_0, …, k_{s−1}]` (as the dense output reads them); returns the new
 * rows (fresh tensors, one list per dense stage). Parts follow their roles as in `rkStep`:
 * `signs` fold into the weights, `passive` parts keep `y0` as their stage input.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { dop853 } from "./dop853.ts";
 * import { rkStep } from "@fasterode/fasterode";
 * import { appendDenseStages } from "./rk_step.ts";
 * // y' = 1: every stage is 1, the dense stages too.
 * const y0 = tf.tensor2d([[0]]);
 * const f = (_t: number, y: tf.Tensor[]) => y.map((x) => tf.onesLike(x));
 * const f0 = f(0, [y0]);
 * const { K, y1 } = rkStep(dop853, f, 0, 0.5, [y0], f0);
 * const rows = appendDenseStages(dop853, f, 0, 0.5, K);
 * assert.equal(K[0].length, 1 + 16);
 * assert.deepEqual(rows.map(([r]) => r.dataSync()[0]), [1, 1, 1]);
 * tf.dispose([...K[0].slice(1), ...y1]);
 * y0.dispose();
 * ```
 */
export function appendDenseStages(
  tableau: Tableau,
  f: (t: number, y: tf.Tensor[]) => tf.Tensor[],
  t0: number,
  t1: number,
  K: tf.Tensor[][],
  roles: PartRoles = {},
): tf.Tensor[][] {
  const { c, a } = tableau.denseStages ?? { c: [], a: [] };
  const dt = t1 - t0;
  const sign = (p: number) => roles.signs?.[p] ?? 1;
  const y0 = K.map((Kp) => Kp[0]);
  const rows: tf.Tensor[][] = [];
  for (let j = 0; j < c.length; j++) {
    // (each dense stage's row of a reaches back to f(t1, y1) and the earlier dense stages)
    const out = tf.tidy(() => {
      const inputs = y0.map((y, p) =>
        (roles.passive?.[p] ?? false)
          ? y
          : linearCombination(K[p], [1, ...a[j].map((w) => dt * sign(p) * w)])
      );
      return f(t0 + c[j] * dt, inputs);
    });
    K.forEach((Kp, p) => Kp.push(out[p]));
    rows.push(out);
  }
  return rows;
}
