/**
 * Dense output: the solution inside an accepted step as a fixed linear combination of the
 * step's start `y0` and its stages `k_i`.
 *
 * With `x = (t − t0)/dt ∈ [0, 1]`, a method with midpoint weights (`bMid`, dopri5) uses the
 * quartic through `y0`, `y1`, `y(t0 + dt/2)` with slopes `f0`, `f1`; other methods use the cubic
 * Hermite polynomial through `y0`, `y1` with slopes `f0`, `f1`. Either is linear in the rows
 * `[y0, k_0 … k_{s−1}, f1]`, so evaluating it is one matrix product with the step's stacked
 * stages; this module only computes the weights.
 *
 * @module
 */
import type { Tableau } from "./tableau.ts";

/**
 * Weights of the interpolant at `x ∈ [0, 1]` over the rows `[y0, k_0, …, k_{s−1}]` plus, for a
 * method that is not FSAL, a last row `f1 = f(t1, y1)` (FSAL methods have `f1 = k_{s−1}`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { denseWeights } from "./dense_output.ts";
 * import { dopri5 } from "./dopri5.ts";
 * // At x = 1 the interpolant is y1 = y0 + dt·Σ b_i k_i.
 * const w = denseWeights(dopri5, 1, 0.1);
 * assert.ok(Math.abs(w[3] - 0.1 * dopri5.b[2]) < 1e-15);
 * ```
 */
export function denseWeights(tableau: Tableau, x: number, dt: number): number[] {
  const { b, bMid, stages, fsal } = tableau;
  const x2 = x * x, x3 = x2 * x, x4 = x3 * x;
  let wY1: number, wMid: number, wF0: number, wF1: number;
  if (bMid !== undefined) {
    // Quartic p(x) = Σ of the basis below; at x = 1/2 it passes through y_mid.
    wY1 = -5 * x2 + 14 * x3 - 8 * x4;
    wMid = 16 * x2 - 32 * x3 + 16 * x4;
    wF0 = x - 4 * x2 + 5 * x3 - 2 * x4;
    wF1 = x2 - 3 * x3 + 2 * x4;
  } else {
    // Cubic Hermite basis h01, h10, h11.
    wY1 = -2 * x3 + 3 * x2;
    wMid = 0;
    wF0 = x3 - 2 * x2 + x;
    wF1 = x3 - x2;
  }
  // The y-weights sum to 1 (y1 and y_mid both contain y0 once), so y0's weight is 1.
  const w = new Array<number>(1 + stages + (fsal ? 0 : 1)).fill(0);
  w[0] = 1;
  for (let i = 0; i < stages; i++) {
    w[1 + i] = dt * (wY1 * b[i] + (bMid === undefined ? 0 : wMid * bMid[i]));
  }
  w[1] += dt * wF0;
  w[fsal ? stages : stages + 1] += dt * wF1;
  return w;
}
