/**
 * Tests of `solvers/options.ts` (`plan`) through `odeint`: what each kind of output times and
 * bad option gets, the warning for tolerances float32 cannot deliver, the exact Hairer probe
 * and the exact NFE at a maxSteps failure, and the onStep callback.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { MaxStepsError, odeint, type StepInfo } from "../../solvers/mod.ts";
import { values } from "../helpers.ts";

await tf.setBackend("cpu");

const decay = (_t: number, y: tf.Tensor) => tf.neg(y);

Deno.test("one output time returns [y0], as torchdiffeq does", async () => {
  const before = tf.memory().numTensors;
  const y0 = tf.tensor([1, 2]);
  const sol = await odeint(decay, y0, [0.5]);
  assert.deepEqual(sol.ts, [0.5]);
  assert.deepEqual(sol.ys.shape, [1, 2]);
  assert.deepEqual(await values(sol.ys), [1, 2]);
  // No step and no initial-step probe: only f(t0, y0).
  assert.equal(sol.stats.nfe, 1);
  assert.equal(sol.stats.nAccepted, 0);
  tf.dispose([y0, sol.ys]);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("ts as a 1-D tf.Tensor gives the same solve as the array; other shapes are rejected", async () => {
  const y0 = tf.tensor([1]);
  const tsT = tf.tensor1d([0, 0.5, 1]);
  const a = await odeint(decay, y0, tsT);
  const b = await odeint(decay, y0, [0, 0.5, 1]);
  assert.deepEqual(a.ts, [0, 0.5, 1]);
  assert.deepEqual(await values(a.ys), await values(b.ys));
  assert.equal(a.stats.nfe, b.stats.nfe);
  const ts2 = tf.tensor2d([[0, 1]]);
  await assert.rejects(odeint(decay, y0, ts2), /ts as a tensor must be 1-D, got shape \[1,2\]/);
  tf.dispose([y0, tsT, ts2, a.ys, b.ys]);
});

Deno.test("options of the wrong type get a TypeError naming the option", async () => {
  const y0 = tf.tensor([1]);
  const cases: [unknown, unknown, RegExp][] = [
    [[0, "0.5", 1], {}, /ts\[1\] is the string "0\.5"; output times must be numbers/],
    [
      [0, 1],
      { rtol: "1e-6" },
      /rtol must be a number, a tf.Tensor or one entry per state tensor, got the string "1e-6"/,
    ],
    [
      [0, 1],
      { atol: "1e-6" },
      /atol must be a number, a tf.Tensor or one entry per state tensor, got the string "1e-6"/,
    ],
    [[0, 1], { maxSteps: "10" }, /maxSteps must be a number, got the string "10"/],
    [[0, 1], { dtMax: null }, /dtMax must be a number, got object null/],
    [[0, 1], { dense: 1 }, /dense must be true or false/],
    [[0, 1], { onStep: 1 }, /onStep must be a function/],
    ["0,1", {}, /ts must be an array of numbers or a 1-D tf.Tensor, got the string "0,1"/],
  ];
  for (const [ts, options, message] of cases) {
    await assert.rejects(odeint(decay, y0, ts as never, options as never), TypeError);
    await assert.rejects(odeint(decay, y0, ts as never, options as never), message);
  }
  y0.dispose();
});

Deno.test("values that cannot be meant get a RangeError that says what to use", async () => {
  const y0 = tf.tensor([1]);
  const cases: [object, RegExp][] = [
    [{ maxSteps: 2.5 }, /maxSteps must be a positive integer, got 2\.5/],
    [{ dtMin: 0.5, dtMax: 0.1 }, /dtMin=0\.5 is larger than dtMax=0\.1/],
    [
      { rtol: 1e10 },
      /rtol=10000000000 allows errors larger than the solution itself; use rtol ≤ 0\.1/,
    ],
    [{ rtol: 2 }, /rtol=2 allows errors larger/],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(odeint(decay, y0, [0, 10], options), RangeError);
    await assert.rejects(odeint(decay, y0, [0, 10], options), message);
  }
  y0.dispose();
});

Deno.test("rtol below float32's resolution warns once, naming rtol and the float32 limit", async () => {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (msg: string) => warnings.push(msg);
  try {
    const y0 = tf.tensor([1]);
    for (let i = 0; i < 2; i++) {
      const sol = await odeint(decay, y0, [0, 0.1], { rtol: 1e-10, atol: 1e-12 });
      sol.ys.dispose();
    }
    // 1e-7 is what torchdiffeq uses in float32: no warning.
    (await odeint(decay, y0, [0, 0.1], { rtol: 1e-7 })).ys.dispose();
    y0.dispose();
  } finally {
    console.warn = warn;
  }
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(warnings[0], /rtol=1e-10 is below what float32 states can deliver/);
  assert.match(warnings[0], /1\.19e-7.*use rtol ≥ 1e-7/);
});

Deno.test("Hairer's probe step is 0.01·d0/d1 (recorded as the second evaluation time)", async () => {
  // y' = −3y, y0 = 2: d0 = ‖y0/scale‖, d1 = ‖f0/scale‖ with the same scale, so d0/d1 = 1/3 and
  // the probe evaluates f at t0 + 0.01/3 (0.1/3 or 0.03 if the factor or the ratio were wrong).
  const y0 = tf.tensor([2]);
  const sol = await odeint((_t, y) => tf.mul(y, -3), y0, [0, 1], { record: true });
  const probe = sol.stats.evalTs![1];
  // d0 and d1 are float32 norms: their ratio is 1/3 to float32 precision.
  assert.ok(Math.abs(probe - 0.01 / 3) <= 1e-6 * (0.01 / 3), `probe at t=${probe}`);
  // Backwards, the probe goes the other way from t0.
  const back = await odeint((_t, y) => tf.mul(y, 3), y0, [1, 0], { record: true });
  const probeBack = back.stats.evalTs![1];
  assert.ok(Math.abs(probeBack - (1 - 0.01 / 3)) <= 1e-8, `probe at t=${probeBack}`);
  tf.dispose([y0, sol.ys, back.ys]);
});

Deno.test("the NFE at a maxSteps failure is exactly f0 + probe + 6 per step (dopri5)", async () => {
  const y0 = tf.tensor([1]);
  for (const maxSteps of [1, 3, 4]) {
    const err = await odeint(decay, y0, [0, 1000], { maxSteps }).then(() => null, (e) => e);
    assert.ok(err instanceof MaxStepsError);
    // maxSteps attempts are made, never maxSteps + 1 (nor maxSteps − 1).
    assert.equal(err.nfe, 2 + 6 * maxSteps, `maxSteps=${maxSteps}`);
    const given = await odeint(decay, y0, [0, 1000], { maxSteps, firstStep: 0.1 })
      .then(() => null, (e) => e);
    assert.equal(given.nfe, 1 + 6 * maxSteps, `maxSteps=${maxSteps} with firstStep`);
  }
  y0.dispose();
});

Deno.test("onStep sees every attempted step with its size and error ratio", async () => {
  const steps: StepInfo[] = [];
  const y0 = tf.tensor([1]);
  // A rate that jumps at t = 1 forces rejected steps there.
  const sol = await odeint((t, y) => tf.mul(y, t < 1 ? -1 : -50), y0, [0, 2], {
    rtol: 1e-5,
    record: true,
    onStep: (info) => steps.push(info),
  });
  const { nAccepted, nRejected, acceptTs, rejectTs } = sol.stats;
  assert.equal(steps.length, nAccepted + nRejected);
  const accepted = steps.filter((st) => st.accepted);
  assert.equal(accepted.length, nAccepted);
  assert.ok(nRejected > 0, "the jump should reject a step");
  assert.ok(accepted.every((st) => st.errorRatio <= 1));
  assert.ok(steps.filter((st) => !st.accepted).every((st) => st.errorRatio > 1));
  // t + dt is the step's end, as recorded.
  assert.deepEqual(accepted.map((st) => st.t + st.dt), acceptTs);
  assert.deepEqual(steps.filter((st) => !st.accepted).map((st) => st.t + st.dt), rejectTs);
  // Accepted steps tile [0, end]: each starts where the last ended.
  accepted.forEach((st, i) => i > 0 && assert.equal(st.t, accepted[i - 1].t + accepted[i - 1].dt));
  // Fixed-step methods report NaN as their ratio.
  const fixed: StepInfo[] = [];
  const rk = await odeint(decay, y0, [0, 1], {
    method: "rk4",
    stepSize: 0.25,
    onStep: (i) => fixed.push(i),
  });
  assert.equal(fixed.length, 4);
  assert.ok(fixed.every((st) => st.accepted && Number.isNaN(st.errorRatio)));
  tf.dispose([y0, sol.ys, rk.ys]);
});
