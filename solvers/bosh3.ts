/**
 * Bogacki–Shampine 3(2): 4 stages, FSAL (3 new evaluations per step), order 3 with an
 * embedded 2nd-order error estimate (the `ode23` pair of MATLAB and torchdiffeq's `bosh3`).
 * Dense output uses a cubic Hermite interpolant.
 *
 * @module
 */
import { makeTableau, type Tableau } from "./tableau.ts";

const b = [2 / 9, 1 / 3, 4 / 9, 0];
/** The embedded 2nd-order weights b̂ (they use the FSAL stage `f(t1, y1)`). */
const bLow = [7 / 24, 1 / 4, 1 / 3, 1 / 8];

/**
 * The `bosh3` tableau.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bosh3 } from "./bosh3.ts";
 * assert.ok(bosh3.stages === 4 && bosh3.fsal && bosh3.adaptive && bosh3.order === 3);
 * ```
 */
export const bosh3: Tableau = makeTableau({
  name: "bosh3",
  order: 3,
  c: [0, 1 / 2, 3 / 4, 1],
  a: [
    [],
    [1 / 2],
    [0, 3 / 4],
    [2 / 9, 1 / 3, 4 / 9],
  ],
  b,
  bError: b.map((x, i) => x - bLow[i]),
});
