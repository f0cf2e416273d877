/**
 * Forward Euler: the 1-stage, 1st-order fixed-step method `y1 = y0 + dt·f(t0, y0)`.
 *
 * @module
 */
import { makeTableau, type Tableau } from "./tableau.ts";

/**
 * The `euler` tableau.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { euler } from "./euler.ts";
 * assert.ok(euler.stages === 1 && !euler.adaptive && euler.order === 1);
 * ```
 */
export const euler: Tableau = makeTableau({
  name: "euler",
  order: 1,
  c: [0],
  a: [[]],
  b: [1],
});
