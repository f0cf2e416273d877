/**
 * Heun–Euler 2(1) (torchdiffeq's `adaptive_heun`): 2 stages, order 2 (Heun's explicit
 * trapezoidal rule) with forward Euler as the embedded 1st-order error estimate. Not FSAL.
 * Dense output uses a cubic Hermite interpolant.
 *
 * @module
 */
import { makeTableau, type Tableau } from "./tableau.ts";

const b = [1 / 2, 1 / 2];
/** The embedded 1st-order weights b̂: forward Euler. */
const bLow = [1, 0];

/**
 * The `adaptive_heun` tableau.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { adaptiveHeun } from "./adaptive_heun.ts";
 * assert.ok(adaptiveHeun.name === "adaptive_heun" && adaptiveHeun.adaptive);
 * assert.ok(adaptiveHeun.stages === 2 && !adaptiveHeun.fsal && adaptiveHeun.order === 2);
 * ```
 */
export const adaptiveHeun: Tableau = makeTableau({
  name: "adaptive_heun",
  order: 2,
  c: [0, 1],
  a: [
    [],
    [1],
  ],
  b,
  bError: b.map((x, i) => x - bLow[i]),
});
