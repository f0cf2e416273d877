/**
 * Dormand–Prince 5(4), the default adaptive method: 7 stages, FSAL (6 new evaluations per
 * step), order 5 with an embedded 4th-order error estimate (Shampine's weights, as in
 * torchdiffeq) and a 4th-order dense output from Shampine's midpoint weights.
 *
 * @module
 */
import { makeTableau, type Tableau } from "./tableau.ts";

const b = [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0];
const bLow = [1951 / 21600, 0, 22642 / 50085, 451 / 720, -12231 / 42400, 649 / 6300, 1 / 60];
const mid = [
  6025192743 / 30085553152,
  0,
  51252292925 / 65400821598,
  -2691868925 / 45128329728,
  187940372067 / 1594534317056,
  -1776094331 / 19743644256,
  11237099 / 235043384,
];

/**
 * The `dopri5` tableau.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dopri5 } from "./dopri5.ts";
 * assert.ok(dopri5.stages === 7 && dopri5.fsal && dopri5.order === 5);
 * ```
 */
export const dopri5: Tableau = makeTableau({
  name: "dopri5",
  order: 5,
  c: [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1],
  a: [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
    [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
  ],
  b,
  bError: b.map((x, i) => x - bLow[i]),
  bMid: mid.map((x) => x / 2),
});
