/**
 * Tests of `solvers/dense_solution.ts`: `dense: true` gives y(t) and dy/dt(t) anywhere in the
 * solved span, from each method's own interpolant, against closed forms; no leaks.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { type MethodName, odeint, odeintSync } from "../../solvers/mod.ts";
import { assertClose, values } from "../helpers.ts";

await tf.setBackend("cpu");

const oscillator = (_t: number, [x, v]: tf.Tensor[]) => [v, tf.neg(x)];
/** 37 times spread over (0, 6), not on any step end. */
const TIMES = Array.from({ length: 37 }, (_, i) => 0.013 + i * 0.1617);

Deno.test("dense: y(t) and dy/dt(t) of the harmonic oscillator anywhere in the span", async () => {
  const before = tf.memory().numTensors;
  for (const method of ["dopri5", "tsit5", "dopri8", "bosh3"] as MethodName[]) {
    const y0 = [tf.tensor([1]), tf.tensor([0])];
    const sol = await odeint(oscillator, y0, [0, 6], {
      method,
      rtol: 1e-6,
      atol: 1e-8,
      dense: true,
    });
    const dense = sol.dense!;
    assert.equal(dense.t0, 0);
    assert.ok(dense.t1 >= 6, `t1 = ${dense.t1}`);
    assert.ok(dense.steps > 3);
    const [x, v] = dense.evaluate(TIMES);
    const [dx, dv] = dense.derivative(TIMES);
    assert.deepEqual(x.shape, [TIMES.length, 1]);
    // Global error ≲ 1e-6 per unit time at rtol 1e-6 over t ≤ 6 (bosh3, 3rd order, included:
    // its Hermite interpolant is 3rd order too). The derivative of an interpolant of order q
    // is of order q − 1 in the step: 20× looser.
    const tol = method === "bosh3" ? 3e-5 : 1e-5;
    assertClose(await values(x), TIMES.map(Math.cos), { atol: tol }, `${method} x`);
    assertClose(await values(v), TIMES.map((t) => -Math.sin(t)), { atol: tol }, `${method} v`);
    assertClose(await values(dx), TIMES.map((t) => -Math.sin(t)), { atol: 20 * tol }, "dx/dt");
    assertClose(await values(dv), TIMES.map((t) => -Math.cos(t)), { atol: 20 * tol }, "dv/dt");
    // One time gives the state's own shapes (no leading axis).
    const one = dense.evaluate(1.5);
    assert.deepEqual(one[0].shape, [1]);
    assertClose(await values(one[0]), [Math.cos(1.5)], { atol: tol }, "x(1.5)");
    tf.dispose([y0, sol.ys, x, v, dx, dv, one]);
    dense.dispose();
    assert.throws(() => dense.evaluate(1), /has been disposed/);
  }
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
});

Deno.test("dense: a backward solve, times outside the span, and odeintSync", async () => {
  const before = tf.memory().numTensors;
  const y0 = tf.tensor([Math.exp(-2)]);
  // y' = −y backwards from t = 2 to 0: y = e^{−t}.
  const sol = await odeint((_t, y) => tf.neg(y), y0, [2, 0], { rtol: 1e-6, dense: true });
  const dense = sol.dense!;
  const y = dense.evaluate([1.9, 1, 0.25]);
  // |y| ≤ 1, rtol 1e-6: errors ~1e-6; 1e-5 allows for float32 rounding.
  assertClose(await values(y), [1.9, 1, 0.25].map((t) => Math.exp(-t)), { atol: 1e-5 }, "y");
  const dy = dense.derivative(0.5);
  assertClose(await values(dy), [-Math.exp(-0.5)], { atol: 1e-4 }, "dy/dt");
  assert.throws(() => dense.evaluate(2.5), /t=2.5 is outside the solved span \[2, /);
  assert.throws(() => dense.evaluate(-0.5), /outside the solved span/);
  assert.throws(() => dense.evaluate(NaN), /t must be a finite number/);
  tf.dispose([y, dy, sol.ys]);
  dense.dispose();
  const sync = odeintSync((_t, yy) => tf.neg(yy), y0, [2, 0], { dense: true });
  const mid = sync.dense!.evaluate(1);
  assertClose(await values(mid), [Math.exp(-1)], { atol: 1e-4 }, "sync");
  tf.dispose([mid, sync.ys, y0]);
  sync.dense!.dispose();
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
});

Deno.test("dense: a terminal event ends the dense span at the event; one time gives y0", async () => {
  const before = tf.memory().numTensors;
  const y0 = [tf.tensor([1]), tf.tensor([0])];
  const ball = (_t: number, [_x, v]: tf.Tensor[]) => [v, tf.fill([1], -9.81)];
  const sol = await odeint(ball, y0, [0, 5], {
    event: { fn: (_t, [x]) => tf.sum(x), direction: "falling" },
    dense: true,
  });
  const tHit = Math.sqrt(2 / 9.81);
  assert.ok(Math.abs(sol.dense!.t1 - sol.event!.t!) === 0);
  assert.ok(Math.abs(sol.dense!.t1 - tHit) < 1e-6);
  const mid = sol.dense!.evaluate(tHit / 2);
  const [x] = mid;
  // x(t) = 1 − g t²/2 is reproduced by the quartic up to float32 rounding.
  assertClose(await values(x), [1 - 9.81 * tHit * tHit / 8], { atol: 1e-6 }, "x(t/2)");
  assert.throws(() => sol.dense!.evaluate(tHit + 0.01), /outside the solved span/);
  tf.dispose([mid, sol.ys, sol.event!.y!]);
  sol.dense!.dispose();

  const single = await odeint(ball, y0, [0], { dense: true });
  const at0 = single.dense!.evaluate(0), slope0 = single.dense!.derivative(0);
  const [x0] = at0, [, dv0] = slope0;
  assert.deepEqual(await values(x0), [1]);
  assertClose(await values(dv0), [-9.81], { atol: 1e-6 }, "dv/dt at t0 = f0");
  tf.dispose([at0, slope0, single.ys, y0]);
  single.dense!.dispose();
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
});
