/**
 * Tests of the step hook of `solvers/rk_step.ts` (`StepFn`, a tableau's own `step`, for
 * implicit methods): the solve loop calls it for every attempted step, reads what it yields,
 * owns what it returns, and otherwise solves as with the explicit step.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { dopri5 } from "../../solvers/dopri5.ts";
import { solve } from "../../solvers/odeint.ts";
import { plan } from "../../solvers/options.ts";
import { runAsync } from "../../solvers/reads.ts";
import { rkStep, type StepFn } from "../../solvers/rk_step.ts";
import { makeTableau } from "../../solvers/tableau.ts";
import { values } from "../helpers.ts";

await tf.setBackend("cpu");

Deno.test("a tableau's own step function replaces rkStep in the solve loop", async () => {
  let calls = 0, reads = 0;
  // The explicit step, through the hook, with one read per step (as a Newton check would do).
  const step: StepFn = function* (tableau, f, t0, t1, y0, f0, options) {
    calls++;
    const probe = tf.sum(y0[0]);
    const v = yield probe;
    probe.dispose();
    if (Number.isFinite(v[0])) reads++;
    return rkStep(tableau, f, t0, t1, y0, f0, options);
  };
  const { name: _name, stages: _s, adaptive: _a, fsal: _f, denseOrder: _d, ...spec } = dopri5;
  const hooked = makeTableau({ ...spec, name: "hooked", step });
  const f = (_t: number, y: tf.Tensor) => tf.mul(y, -2);
  const y0 = tf.tensor([1, 3]);
  const before = tf.memory().numTensors;
  const base = plan(y0, [0, 0.3, 1], { rtol: 1e-6 });
  const plain = await runAsync(solve(f as never, y0, base));
  const viaHook = await runAsync(solve(f as never, y0, { ...base, tableau: hooked }));
  assert.equal(calls, viaHook.stats.nAccepted + viaHook.stats.nRejected);
  assert.equal(reads, calls);
  assert.equal(viaHook.stats.nfe, plain.stats.nfe);
  assert.deepEqual(await values(viaHook.ys as tf.Tensor), await values(plain.ys as tf.Tensor));
  tf.dispose([plain.ys, viaHook.ys]);
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
  y0.dispose();
});
