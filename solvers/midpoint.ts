/**
 * The explicit midpoint rule: a 2-stage, 2nd-order fixed-step method,
 * `y1 = y0 + dt·f(t0 + dt/2, y0 + dt/2·f(t0, y0))`.
 *
 * @module
 */
import { makeTableau, type Tableau } from "./tableau.ts";

/**
 * The `midpoint` tableau.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { midpoint } from "./midpoint.ts";
 * assert.ok(midpoint.stages === 2 && !midpoint.adaptive && midpoint.order === 2);
 * ```
 */
export const midpoint: Tableau = makeTableau({
  name: "midpoint",
  order: 2,
  c: [0, 1 / 2],
  a: [
    [],
    [1 / 2],
  ],
  b: [0, 1],
});
