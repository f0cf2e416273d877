/**
 * Tests of `solvers/controller.ts`: the PID controller's derivative term (diffrax's form)
 * against the formula, and a solve under it.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { makeController, odeint } from "../../solvers/mod.ts";
import { values } from "../helpers.ts";

await tf.setBackend("cpu");

Deno.test("PID: the factor is safety·r^−(p+i+d)/k·r₁^(p+2d)/k·r₂^−d/k over accepted ratios", () => {
  const [p, i, d, k] = [0.4, 0.3, 0.2, 5];
  const c = makeController(k, { kind: "pid", pcoeff: p, icoeff: i, dcoeff: d });
  const factor = (r: number, r1: number, r2: number) =>
    0.9 * r ** (-(p + i + d) / k) * r1 ** ((p + 2 * d) / k) * r2 ** (-d / k);
  // History starts at 1, 1; only accepted ratios (≤ 1) enter it.
  assert.ok(Math.abs(c.next(1, 0.5) - Math.max(1, factor(0.5, 1, 1))) < 1e-15);
  assert.ok(Math.abs(c.next(1, 0.25) - factor(0.25, 0.5, 1)) < 1e-15);
  const rejected = c.next(1, 4); // a rejection: clipped below by dfactor, history unchanged
  assert.ok(Math.abs(rejected - Math.max(0.2, factor(4, 0.25, 0.5))) < 1e-15);
  assert.ok(Math.abs(c.next(1, 0.8) - Math.max(1, factor(0.8, 0.25, 0.5))) < 1e-15);
  // dcoeff = 0 is exactly the PI controller.
  const pid = makeController(5, { kind: "pid" }), pi = makeController(5, { kind: "pi" });
  for (const r of [0.3, 0.9, 2, 0.1]) assert.equal(pid.next(0.1, r), pi.next(0.1, r));
  assert.throws(() => makeController(5, { kind: "pi", dcoeff: 0.1 }), /dcoeff is .* "pid"/);
  assert.throws(
    () => makeController(5, { kind: "pid", dcoeff: NaN }),
    /dcoeff must be a finite number, got NaN/,
  );
});

Deno.test("PID solves y' = −y to its tolerance", async () => {
  const y0 = tf.tensor([1]);
  const sol = await odeint((_t, y) => tf.neg(y), y0, [0, 5], {
    rtol: 1e-6,
    atol: 1e-8,
    controller: { kind: "pid", pcoeff: 0.3, icoeff: 0.3, dcoeff: 0.1 },
  });
  // rtol 1e-6 over 5 time units; float32 rounding: 1e-6 absolute on e^{−5} ≈ 6.7e-3.
  assert.ok(Math.abs((await values(sol.ys))[1] - Math.exp(-5)) < 1e-6);
  tf.dispose([y0, sol.ys]);
});
