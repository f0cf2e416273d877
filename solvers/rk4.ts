/**
 * The classic 4th-order Runge–Kutta method ("RK4", Kutta 1901), 4 stages, fixed step:
 * `c = (0, 1/2, 1/2, 1)`, `b = (1/6, 1/3, 1/3, 1/6)`. This is the classic tableau, not
 * Kutta's 3/8 rule; note that torchdiffeq's `rk4` uses the 3/8 rule, so fixed-step results
 * agree with torchdiffeq's only up to the (4th-order) truncation error.
 *
 * @module
 */
import { makeTableau, type Tableau } from "./tableau.ts";

/**
 * The `rk4` tableau (classic RK4).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rk4 } from "./rk4.ts";
 * assert.ok(rk4.stages === 4 && !rk4.adaptive && rk4.order === 4);
 * ```
 */
export const rk4: Tableau = makeTableau({
  name: "rk4",
  order: 4,
  c: [0, 1 / 2, 1 / 2, 1],
  a: [
    [],
    [1 / 2],
    [0, 1 / 2],
    [0, 0, 1],
  ],
  b: [1 / 6, 1 / 3, 1 / 3, 1 / 6],
});
