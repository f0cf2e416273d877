/**
 * Kværnø's 5(4) ESDIRK method (A. Kværnø, "Singly diagonally implicit Runge–Kutta methods with
 * an explicit first stage", BIT 44 (2004)), for stiff problems: L-stable and stiffly accurate,
 * order 5 with an embedded order-4 error estimate, 7 stages of which 6 are implicit with the
 * diagonal `γ = 0.26`. Coefficients as in diffrax's `Kvaerno5`, with its stage predictors (from
 * OrdinaryDiffEq.jl, `α21 = 1`).
 *
 * Written here with an eighth, explicit stage `a[7] = b` that repeats the seventh: since the
 * method is stiffly accurate (`y1 = Y_7`), `f(t1, y1)` is the seventh stage, so the loop sees an
 * FSAL method and gets it for free (the step returns it without evaluating). Steps are taken by
 * {@link esdirkStep} (simplified Newton on a finite-difference Jacobian); outputs between steps
 * use the cubic Hermite interpolant, as diffrax does. Its third stage sits past the step's end
 * (`c = 1.23`), so `f` is evaluated slightly beyond the last output time (and beyond a `jumpT`
 * break: keep jumps away from stiff solves, or restart the solve there).
 *
 * @module
 */
import { esdirkStep } from "./esdirk_step.ts";
import { makeTableau, type Tableau } from "./tableau.ts";

const g = 0.26;
const a2 = [g];
const a3 = [0.13, 0.84033320996790809];
const a4 = [0.22371961478320505, 0.47675532319799699, -0.06470895363112615];
const a5 = [0.16648564323248321, 0.10450018841591720, 0.03631482272098715, -0.13090704451073998];
const a6 = [0.13855640231268224, 0, -0.04245337201752043, 0.02446657898003141, 0.61943039072480676];
const a7 = [
  0.13659751177640291,
  0,
  -0.05496908796538376,
  -0.04118626728321046,
  0.62993304899016403,
  0.06962479448202728,
];
/** `b` = the seventh stage's row with its diagonal (stiffly accurate), and 0 for the copy. */
const b = [...a7, g, 0];
/** `b̂` = the sixth stage's row with its diagonal: an order-4 solution. */
const bHat = [...a6, g, 0, 0];

/** Predictor weights: `Y_i`'s first guess is `y0 + dt·Σ_j alpha[i][j]·k_j`. */
const alpha = [
  [],
  [1.0],
  [-1.366025403784441, 2.3660254037844357],
  [-0.19650552613122207, 0.8113579546496623, 0.38514757148155954],
  [0.10375304369958693, 0.937994698066431, -0.04174774176601781, 0],
  [-0.17281112873898072, 0.6235784481025847, 0.5492326806363959, 0, 0],
  [...a6, g],
];

/**
 * The `kvaerno5` tableau (with its implicit step).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { kvaerno5 } from "./kvaerno5.ts";
 * assert.ok(kvaerno5.order === 5 && kvaerno5.adaptive && kvaerno5.fsal);
 * assert.equal(kvaerno5.diagonal![3], 0.26);
 * ```
 */
export const kvaerno5: Tableau = makeTableau({
  name: "kvaerno5",
  order: 5,
  c: [0, 0.52, 1.230333209967908, 0.8957659843500759, 0.43639360985864756, 1, 1, 1],
  a: [[], a2, a3, a4, a5, a6, a7, [...a7, g]],
  diagonal: [0, g, g, g, g, g, g, 0],
  b,
  bError: b.map((x, i) => x - bHat[i]),
  denseOrder: 3,
  step: esdirkStep(alpha),
});
