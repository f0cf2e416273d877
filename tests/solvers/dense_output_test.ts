/**
 * Tests of `solvers/dense_output.ts` through `odeint`: outputs between steps come from each
 * method's own interpolant (its order is checked exactly in tableau_test.ts). Here: torchdiffeq's
 * `test_odeint` accuracy bound on its sine problem, forward and reversed, in float32.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { type MethodName, odeint } from "../../solvers/mod.ts";
import { denseDerivativeWeights, denseWeights } from "../../solvers/dense_output.ts";
import { METHODS } from "../../solvers/methods.ts";
import { values } from "../helpers.ts";

await tf.setBackend("cpu");

/** torchdiffeq's SineODE (tests/problems.py): y' = 2y/t + t⁴ sin 2t − t² + 4t³. */
const sineField = (t: number, y: tf.Tensor) =>
  tf.add(tf.mul(y, 2 / t), t ** 4 * Math.sin(2 * t) - t * t + 4 * t ** 3);
const sineExact = (t: number) =>
  -0.5 * t ** 4 * Math.cos(2 * t) + 0.5 * t ** 3 * Math.sin(2 * t) +
  0.25 * t * t * Math.cos(2 * t) - t ** 3 + 2 * t ** 4 + (Math.PI - 0.25) * t * t;

/** torchdiffeq's `rel_error`: max |(true − estimate) / true|. */
function relError(ts: number[], ys: number[]): number {
  return Math.max(...ts.map((t, i) => Math.abs((sineExact(t) - ys[i]) / sineExact(t))));
}

// torchdiffeq's construct_problem: 10 points in [1, 8], y0 = y(ts[0]), reverse flips ts.
const TS = Array.from({ length: 10 }, (_, i) => 1 + (7 * i) / 9);

for (const reverse of [false, true]) {
  for (const method of ["dopri8", "dopri5", "tsit5"] as MethodName[]) {
    Deno.test(`sine problem, ${method}${reverse ? " reversed" : ""}: torchdiffeq's 3e-4 bound`, async () => {
      const before = tf.memory().numTensors;
      const ts = reverse ? TS.slice().reverse() : TS;
      const y0 = tf.tensor([sineExact(ts[0])]);
      // torchdiffeq's float32 tolerances for dopri8 (rtol = atol = 1e-7), used for all three;
      // its bound is 3e-4 relative (before, with a cubic Hermite, dopri8 gave 9.6e-4 / 2.1e-3).
      const sol = await odeint(sineField, y0, ts, { method, rtol: 1e-7, atol: 1e-7 });
      const err = relError(ts, await values(sol.ys));
      assert.ok(err < 3e-4, `${method}: relative error ${err.toExponential(2)}`);
      tf.dispose([y0, sol.ys]);
      assert.equal(tf.memory().numTensors, before);
    });
  }
}

Deno.test("dense weights: value and slope are continuous with y0, y1, f0 and f1 for every method", () => {
  for (const tab of Object.values(METHODS)) {
    const dt = 0.25;
    const w0 = denseWeights(tab, 0, dt), w1 = denseWeights(tab, 1, dt);
    // x = 0: y0 exactly; x = 1: y1 = y0 + dt·Σ b_i k_i.
    assert.ok(w0[0] === 1 && w0.slice(1).every((w) => Math.abs(w) < 1e-15), tab.name);
    tab.b.forEach((b, i) => assert.ok(Math.abs(w1[1 + i] - dt * b) < 1e-12, tab.name));
    const d0 = denseDerivativeWeights(tab, 0, dt);
    // The slope at x = 0 is f0 = k_0 for every interpolant here.
    assert.ok(Math.abs(d0[1] - 1) < 1e-9, `${tab.name}: slope at 0 is ${d0[1]}·k0`);
  }
});
