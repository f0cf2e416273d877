/**
 * Fehlberg 2(1) (RKF12, torchdiffeq's `fehlberg2`): 3 stages, order 2 with an embedded
 * 1st-order error estimate. The last stage is evaluated at the embedded (1st-order) solution,
 * so with the 2nd-order weights used to advance the method is not FSAL: 3 evaluations per step.
 * Dense output uses a cubic Hermite interpolant.
 *
 * @module
 */
import { makeTableau, type Tableau } from "./tableau.ts";

const b = [1 / 512, 255 / 256, 1 / 512];
/** The embedded 1st-order weights b̂ (equal to the last row of `a`). */
const bLow = [1 / 256, 255 / 256, 0];

/**
 * The `fehlberg2` tableau.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fehlberg2 } from "./fehlberg2.ts";
 * assert.ok(fehlberg2.stages === 3 && !fehlberg2.fsal && fehlberg2.order === 2);
 * ```
 */
export const fehlberg2: Tableau = makeTableau({
  name: "fehlberg2",
  order: 2,
  c: [0, 1 / 2, 1],
  a: [
    [],
    [1 / 2],
    [1 / 256, 255 / 256],
  ],
  b,
  bError: b.map((x, i) => x - bLow[i]),
});
