/**
 * Dense output: the solution inside an accepted step as a fixed linear combination of the
 * step's start `y0` and its stages `k_i` (and, for some methods that are not FSAL, `f1`).
 *
 * With `x = (t − t0)/dt ∈ [0, 1]`, each method uses the best interpolant its tableau carries:
 * - a continuous extension `b_i(θ)` (`bTheta`: tsit5's own 4th-order interpolant, dopri8's
 *   polynomials of degree 6, dop853's 7th-order one, which also reads its `denseStages`: the
 *   rows then run `[y0, k_0 … k_{s−1}, dense stages]`),
 * - else the quartic through `y0`, `y1`, `y(t0 + dt/2)` (from the midpoint weights `bMid`, as
 *   dopri5's Shampine weights) with slopes `f0`, `f1`,
 * - else the cubic Hermite polynomial through `y0`, `y1` with slopes `f0`, `f1`.
 *
 * Each is a polynomial in `x` whose coefficients are linear in the rows `[y0, k_0 … k_{s−1}]`
 * (`+ f1` where {@link usesF1}), so evaluating it, or its derivative, is one linear combination
 * of the step's stages; this module computes the weights.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { linearCombination } from "./fused_ops.ts";
import type { Tableau } from "./tableau.ts";

/**
 * `Q[m][r]`: the coefficient of `x^m` for row `r` of `[y0, k_0, …, k_{s−1}, (f1)]`, so that
 * `y(t0 + x·dt) = Σ_m x^m (Q[m][0]·y0 + dt·Σ_{r≥1} Q[m][r]·row_r)`.
 */
const COEFFICIENTS = new WeakMap<Tableau, number[][]>();

/**
 * Whether a method's dense output reads `f1 = f(t1, y1)` as a row of its own (after the
 * stages): true for methods that are not FSAL, unless their continuous extension has no `f1`
 * weight.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { usesF1 } from "./dense_output.ts";
 * import { dopri5 } from "./dopri5.ts";
 * import { rk4 } from "./rk4.ts";
 * assert.equal(usesF1(dopri5), false); // FSAL: f1 is its last stage
 * assert.equal(usesF1(rk4), true); // cubic Hermite needs f(t1, y1)
 * ```
 */
export function usesF1(tableau: Tableau): boolean {
  if (tableau.fsal) return false;
  if (tableau.bTheta !== undefined) {
    return tableau.bTheta.length > tableau.stages + (tableau.denseStages?.c.length ?? 0);
  }
  return true;
}

/** The coefficient matrix `Q` of a tableau's interpolant (cached). */
function coefficients(tableau: Tableau): number[][] {
  const cached = COEFFICIENTS.get(tableau);
  if (cached !== undefined) return cached;
  const { b, bMid, bTheta, stages } = tableau;
  const rows = 1 + stages + (tableau.denseStages?.c.length ?? 0) + (usesF1(tableau) ? 1 : 0);
  const f1Row = tableau.fsal ? stages : stages + 1;
  let Q: number[][];
  if (bTheta !== undefined) {
    const degree = Math.max(...bTheta.map((p) => p.length));
    Q = Array.from({ length: degree + 1 }, () => new Array<number>(rows).fill(0));
    Q[0][0] = 1;
    bTheta.forEach((p, i) => p.forEach((q, m) => (Q[m + 1][1 + i] = q)));
  } else {
    // Basis polynomials (coefficients of x^0 … x^4) of y1, y_mid, dt·f0 and dt·f1.
    const [pY1, pMid, pF0, pF1] = bMid !== undefined
      ? [[0, 0, -5, 14, -8], [0, 0, 16, -32, 16], [0, 1, -4, 5, -2], [0, 0, 1, -3, 2]]
      : [[0, 0, 3, -2, 0], [0, 0, 0, 0, 0], [0, 1, -2, 1, 0], [0, 0, -1, 1, 0]];
    Q = pY1.map((_, m) => {
      // y1 = y0 + dt·Σ b_i k_i and y_mid = y0 + dt·Σ bMid_i k_i: the y0 weights add up to 1.
      const row = new Array<number>(rows).fill(0);
      row[0] = m === 0 ? 1 : 0;
      for (let i = 0; i < stages; i++) row[1 + i] = pY1[m] * b[i] + pMid[m] * (bMid?.[i] ?? 0);
      if (bMid !== undefined && bMid.length > stages) row[f1Row] += pMid[m] * bMid[stages];
      row[1] += pF0[m];
      row[f1Row] += pF1[m];
      return row;
    });
  }
  COEFFICIENTS.set(tableau, Q);
  return Q;
}

/** Σ_m Q[m][r]·(d/dx)^order x^m at `x`, for every row, with the k rows scaled by `dt`. */
function weightsAt(tableau: Tableau, x: number, dt: number, derivative: boolean): number[] {
  const Q = coefficients(tableau);
  const w = new Array<number>(Q[0].length).fill(0);
  for (let m = derivative ? 1 : 0; m < Q.length; m++) {
    const basis = derivative ? m * x ** (m - 1) : x ** m;
    for (let r = 0; r < w.length; r++) w[r] += Q[m][r] * basis;
  }
  // Rows after y0 carry dt; the derivative is d/dt = (1/dt)·d/dx.
  for (let r = 0; r < w.length; r++) {
    if (r > 0) w[r] *= dt;
    if (derivative) w[r] /= dt;
  }
  return w;
}

/**
 * Weights of the interpolant at `x ∈ [0, 1]` over the rows `[y0, k_0, …, k_{s−1}]`, then the
 * tableau's `denseStages` (if any), plus, where {@link usesF1}, a last row `f1 = f(t1, y1)` (FSAL
 * methods have `f1 = k_{s−1}`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { denseWeights, getMethod } from "@fasterode/fasterode";
 * const dopri5 = getMethod("dopri5");
 * // At x = 1 the interpolant is y1 = y0 + dt·Σ b_i k_i.
 * const w = denseWeights(dopri5, 1, 0.1);
 * assert.ok(Math.abs(w[3] - 0.1 * dopri5.b[2]) < 1e-15);
 * ```
 */
export function denseWeights(tableau: Tableau, x: number, dt: number): number[] {
  return weightsAt(tableau, x, dt, false);
}

/**
 * Weights of the interpolant's time derivative `dy/dt` at `x ∈ [0, 1]`, over the same rows as
 * {@link denseWeights} (the weight of `y0` is 0).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { denseDerivativeWeights, getMethod } from "@fasterode/fasterode";
 * const dopri5 = getMethod("dopri5");
 * // At x = 0 the interpolant's slope is f0 = k_0.
 * const w = denseDerivativeWeights(dopri5, 0, 0.1);
 * assert.ok(Math.abs(w[1] - 1) < 1e-12 && w.slice(2).every((v) => Math.abs(v) < 1e-12));
 * ```
 */
export function denseDerivativeWeights(tableau: Tableau, x: number, dt: number): number[] {
  return weightsAt(tableau, x, dt, true);
}

/**
 * The interpolant's polynomial coefficients, row by row: `polynomialWeights(tableau, dt)[m]` are
 * the weights over the rows (as in {@link denseWeights}) of the coefficient of `x^m`. A dense
 * solution stores one combination per `m` and evaluates `Σ_m x^m C_m` later.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { denseWeights } from "@fasterode/fasterode";
 * import { polynomialWeights } from "./dense_output.ts";
 * import { tsit5 } from "./tsit5.ts";
 * const P = polynomialWeights(tsit5, 0.5);
 * const x = 0.3, w = denseWeights(tsit5, x, 0.5);
 * w.forEach((wr, r) => {
 *   const viaP = P.reduce((acc, row, m) => acc + row[r] * x ** m, 0);
 *   assert.ok(Math.abs(viaP - wr) < 1e-12);
 * });
 * ```
 */
export function polynomialWeights(tableau: Tableau, dt: number): number[][] {
  return coefficients(tableau).map((row) => row.map((q, r) => (r > 0 ? q * dt : q)));
}

/**
 * A step's interpolant from its stored coefficients `C[p] = [C_0, C_1, …]` (one list per part,
 * as {@link polynomialWeights} makes them): `Σ_m x^m C_m` at `x ∈ [0, 1]`, or with `dt` given,
 * its time derivative `Σ_m m·x^(m−1) C_m / dt`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { polynomialAt } from "./dense_output.ts";
 * // y(x) = 1 + 2x + 3x² at x = 0.5 is 2.75; dy/dt with dt = 2 is (2 + 6·0.5)/2 = 2.5.
 * const C = [[tf.tensor([1]), tf.tensor([2]), tf.tensor([3])]];
 * const [y] = polynomialAt(C, 0.5), [dy] = polynomialAt(C, 0.5, 2);
 * assert.equal((await y.data())[0], 2.75);
 * assert.equal((await dy.data())[0], 2.5);
 * ```
 */
export function polynomialAt(C: tf.Tensor[][], x: number, dt?: number): tf.Tensor[] {
  return C.map((Cp) =>
    linearCombination(
      Cp,
      Cp.map((_, m) => dt === undefined ? x ** m : m === 0 ? 0 : (m * x ** (m - 1)) / dt),
    )
  );
}
