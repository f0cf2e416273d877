import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { odeintAdjoint } from "../../adjoint/mod.ts";
import { getMethod, odeint } from "../../solvers/mod.ts";
import { luFactor, luSolve } from "../../solvers/lu.ts";
import { assertClose, values } from "../helpers.ts";

await tf.setBackend("cpu");

/** Robertson's chemical kinetics (Hairer & Wanner II, IV.10): stiffness ratio ~1e11. */
const robertson = (_t: number, y: tf.Tensor) =>
  tf.tidy(() => {
    const [y1, y2, y3] = tf.unstack(y);
    const r1 = tf.mul(0.04, y1), r2 = tf.mul(1e4, tf.mul(y2, y3)), r3 = tf.mul(3e7, tf.square(y2));
    return tf.stack([tf.sub(r2, r1), tf.sub(tf.sub(r1, r2), r3), r3]);
  });

/** Van der Pol with μ = 1000: x'' = μ(1 − x²)x' − x, as [x, x']. */
const vanDerPol = (_t: number, y: tf.Tensor) =>
  tf.tidy(() => {
    const [x, v] = tf.unstack(y);
    return tf.stack([v, tf.sub(tf.mul(1000, tf.mul(tf.sub(1, tf.square(x)), v)), x)]);
  });

Deno.test("kvaerno5: the tableau is consistent and of order 5 on a smooth problem", async () => {
  const k5 = getMethod("kvaerno5");
  assert.ok(k5.adaptive && k5.fsal && k5.order === 5 && k5.stages === 8);
  // Stiffly accurate: b is the last implicit stage's row with its diagonal (y1 = Y_7).
  k5.b.slice(0, 7).forEach((b, j) => {
    const row = [...k5.a[6], k5.diagonal![6]];
    assert.ok(Math.abs(b - row[j]) < 1e-15, `b[${j}]`);
  });
  // L-stability: the stability function R(z) = 1 + z·bᵀ(I − zA)⁻¹1 tends to 0 as z → −∞
  // (stiffly accurate with an invertible implicit part), |R| ≤ 1 on the negative axis.
  const s = 7;
  const A = new Float64Array(s * s);
  for (let i = 0; i < s; i++) {
    k5.a[i].forEach((x, j) => (A[i * s + j] = x));
    A[i * s + i] = k5.diagonal![i];
  }
  const R = (z: number) => {
    const M = new Float64Array(s * s);
    for (let i = 0; i < s * s; i++) M[i] = -z * A[i];
    for (let i = 0; i < s; i++) M[i * s + i] += 1;
    const x = luSolve(luFactor(M, s)!, new Float64Array(s).fill(1));
    return 1 + z * k5.b.slice(0, s).reduce((acc, b, i) => acc + b * x[i], 0);
  };
  for (const z of [-0.5, -2, -10, -100, -1e4]) assert.ok(Math.abs(R(z)) <= 1, `|R(${z})| > 1`);
  assert.ok(Math.abs(R(-1e8)) < 1e-6, `R(−∞) = ${R(-1e8)}, not 0`);
  // Fixed steps (dtMin = dtMax) on y' = cos(t)·y, y(0) = 1: y(2) = e^{sin 2}. Halving the step
  // divides a 5th-order error by 32; float32 rounding (~1e-7) caps how small the steps can go.
  const f = (t: number, y: tf.Tensor) => tf.mul(Math.cos(t), y);
  const errors: number[] = [];
  for (const h0 of [0.5, 0.25]) {
    const h = h0 * (1 + 1e-9);
    const sol = await odeint(f, tf.tensor([1]), [0, 2], {
      method: "kvaerno5",
      firstStep: h,
      dtMin: h,
      dtMax: h,
      rtol: 1e-7,
      atol: 1e-9,
    });
    errors.push(Math.abs((await values(sol.ys))[1] - Math.exp(Math.sin(2))));
    sol.ys.dispose();
  }
  console.log(`kvaerno5 fixed-step errors ${errors.map((e) => e.toExponential(2))}`);
  assert.ok(errors[0] / errors[1] > 20, `error ratio ${errors[0] / errors[1]} (order < 4.3)`);
});

Deno.test("kvaerno5 solves Robertson's problem to t = 40 in a few hundred evaluations", async () => {
  const before = tf.memory().numTensors;
  const y0 = tf.tensor([1, 0, 0]);
  const sol = await odeint(robertson, y0, [0, 40], { method: "kvaerno5", rtol: 1e-6, atol: 1e-10 });
  const y = (await values(sol.ys)).slice(3);
  // Reference: SciPy's Radau in float64 at rtol 1e-12 (0.71582707, 9.1855348e-6, 0.28416375);
  // the rounded values are 0.7158, 9.185e-6, 0.2842. rtol 1e-6 in float32: 1e-4 for
  // y1, y3 and 1e-3 relative for y2.
  assertClose(y, [0.715827069, 9.18553476e-6, 0.284163746], { atol: 1e-4 }, "y(40)");
  assertClose([y[1]], [9.18553476e-6], { rtol: 1e-3 }, "y2(40)");
  // Mass is conserved exactly by the method (linear invariant): y1 + y2 + y3 = 1 in float32.
  assert.ok(Math.abs(y[0] + y[1] + y[2] - 1) < 1e-6, `mass ${y[0] + y[1] + y[2]}`);
  assert.ok(sol.stats.nfe < 2000, `NFE ${sol.stats.nfe}`);
  tf.dispose([sol.ys, y0]);
  assert.equal(tf.memory().numTensors, before, "kvaerno5 leaked tensors");
});

Deno.test("van der Pol μ = 1000: kvaerno5 crosses two periods where dopri5 barely starts", async () => {
  const y0 = tf.tensor([2, 0]);
  const opts = { rtol: 1e-4, atol: 1e-6 };
  const sol = await odeint(vanDerPol, y0, [0, 3000], { ...opts, method: "kvaerno5" });
  const [x, v] = (await values(sol.ys)).slice(2);
  // Reference: SciPy's Radau in float64 at rtol 1e-12: x(3000) = −1.51060694, x' = 1.17838e-3.
  // The relaxation jumps amplify phase errors; rtol 1e-4 gives x to ~1e-3.
  assertClose([x, v], [-1.51060694, 1.17838e-3], { atol: 5e-3 }, "y(3000)");
  // About 500 steps (~18 evaluations each: Newton on six stages and the Jacobian's columns).
  assert.ok(sol.stats.nfe < 15000, `kvaerno5 NFE ${sol.stats.nfe}`);
  // dopri5 with twice that budget (maxSteps 5000: 30,000 evaluations) gets nowhere near 3000:
  // its stability region limits the step to ~3/μ on the slow branch.
  const explicit = await odeint(vanDerPol, y0, [0, 3000], {
    ...opts,
    maxSteps: 5000,
    onFailure: "return",
  });
  assert.equal(explicit.status, "max_steps");
  assert.ok(explicit.error!.t < 100, `dopri5 reached t = ${explicit.error!.t}`);
  console.log(`van der Pol: kvaerno5 NFE ${sol.stats.nfe}; dopri5 at t = ${explicit.error!.t}`);
  tf.dispose([sol.ys, explicit.ys, y0]);
});

Deno.test("kvaerno5 in the adjoint: gradients of a stiff-ish linear problem equal the closed form", async () => {
  // y' = −k(y − cos t), y(0) = 0: y(t) = A cos t + B sin t − A e^{−kt}, A = k²/(k²+1),
  // B = k/(k²+1). L = y(1): dL/dk = A' cos 1 + B' sin 1 + (t·A − A')e^{−k}, dL/dy0 = e^{−k}.
  // (With k = 20 the backward reconstruction of y, unstable as e^{k t} backwards, stays within
  // float32; at k ≳ 100 it does not, for any method: stiff problems need the forward solution.)
  const kk = 20;
  const k = tf.variable(tf.scalar(kk));
  const f = (t: number, y: tf.Tensor) => tf.mul(tf.neg(k), tf.sub(y, Math.cos(t)));
  const A = kk ** 2 / (kk ** 2 + 1), dA = 2 * kk / (kk ** 2 + 1) ** 2;
  const dB = (1 - kk ** 2) / (kk ** 2 + 1) ** 2;
  const dk = dA * Math.cos(1) + dB * Math.sin(1) + (A - dA) * Math.exp(-kk);
  const y0 = tf.tensor([0]);
  const dLdys = tf.tensor([[0], [1]]);
  const before = tf.memory().numTensors;
  const sol = await odeintAdjoint(f, y0, [0, 1], [k], {
    method: "kvaerno5",
    rtol: 1e-6,
    atol: 1e-8,
    adjoint: { norm: "seminorm" },
  });
  const g = await sol.backward(dLdys);
  // Forward and backward at rtol 1e-6: the gradient to ~1e-4 relative.
  assertClose(await values(g.params[0]), [dk], { rtol: 1e-3 }, "dL/dk");
  assertClose(await values(g.y0), [Math.exp(-kk)], { rtol: 1e-2, atol: 1e-10 }, "dL/dy0");
  tf.dispose([sol.ys, g.y0, g.params]);
  assert.equal(tf.memory().numTensors, before, "the implicit adjoint leaked tensors");
  tf.dispose([k, y0, dLdys]);
});

Deno.test("kvaerno5 rejects states too large for its dense Jacobian, naming the limit", async () => {
  const y0 = tf.zeros([3000]);
  await assert.rejects(
    odeint((_t, y) => tf.neg(y), y0, [0, 1], { method: "kvaerno5" }),
    /dense Jacobian of the state; this state has 3000 entries \(limit 2000\)/,
  );
  y0.dispose();
});
