/**
 * Heun's method (the explicit trapezoidal rule): a 2-stage, 2nd-order fixed-step method,
 * `y1 = y0 + dt/2·(k1 + k2)` with `k2 = f(t0 + dt, y0 + dt·k1)`. See `adaptive_heun` for the
 * same method with an embedded Euler error estimate.
 *
 * @module
 */
import { makeTableau, type Tableau } from "./tableau.ts";

/**
 * The `heun` tableau.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { heun } from "./heun.ts";
 * assert.ok(heun.stages === 2 && !heun.adaptive && !heun.fsal && heun.order === 2);
 * ```
 */
export const heun: Tableau = makeTableau({
  name: "heun",
  order: 2,
  c: [0, 1],
  a: [
    [],
    [1],
  ],
  b: [1 / 2, 1 / 2],
});
