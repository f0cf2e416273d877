import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  ACROBOT,
  acrobotDynamics,
  acrobotEnergy,
  simulateAcrobot,
} from "../../../models/acrobot/physics.ts";
import { seededRandom, uniform } from "../../../models/data/random.ts";

await tf.setBackend("cpu");

/** The equations of motion as given (float64), with cos(θ − π/2) written literally. */
function reference(s: number[], a: number[]): number[] {
  const { m1, m2, l1, lc1, lc2, I1, I2, g } = ACROBOT;
  const [th1, th2, dth1, dth2] = s;
  const d1 = m1 * lc1 ** 2 + m2 * (l1 ** 2 + lc2 ** 2 + 2 * l1 * lc2 * Math.cos(th2)) + I1 + I2;
  const d2 = m2 * (lc2 ** 2 + l1 * lc2 * Math.cos(th2)) + I2;
  const phi2 = m2 * lc2 * g * Math.cos(th1 + th2 - Math.PI / 2);
  const phi1 = -m2 * l1 * lc2 * dth2 ** 2 * Math.sin(th2) -
    2 * m2 * l1 * lc2 * dth2 * dth1 * Math.sin(th2) +
    (m1 * lc1 + m2 * l1) * g * Math.cos(th1 - Math.PI / 2) + phi2;
  const ddth2 = (a[0] + d2 / d1 * phi1 - m2 * l1 * lc2 * dth1 ** 2 * Math.sin(th2) - phi2) /
    (m2 * lc2 ** 2 + I2 - d2 ** 2 / d1);
  const ddth1 = -(a[1] + d2 * ddth2 + phi1) / d1;
  return [dth1, dth2, ddth1, ddth2];
}

function randomStates(n: number, seed: number, speed = 3): number[][] {
  const rng = seededRandom(seed);
  return Array.from({ length: n }, () => [
    uniform(rng, -3.14, 3.14),
    uniform(rng, -3.14, 3.14),
    uniform(rng, -speed, speed),
    uniform(rng, -speed, speed),
  ]);
}

Deno.test("dynamics match the stated equations of motion (float64 reference)", async () => {
  const states = randomStates(20, 1, 6);
  const rng = seededRandom(2);
  const controls = states.map(() => [uniform(rng, -3, 3), uniform(rng, -3, 3)]);
  const before = tf.memory().numTensors;
  const s = tf.tensor2d(states);
  const u = tf.tensor2d(controls);
  const dT = acrobotDynamics(s, u);
  const d = await dT.array();
  tf.dispose([s, u, dT]);
  assert.equal(tf.memory().numTensors, before, "acrobotDynamics leaked intermediates");
  states.forEach((st, i) => {
    const expected = reference(st, controls[i]);
    expected.forEach((e, k) => {
      // float32 evaluation of O(10–100) terms: ~1e-6 relative to the largest term.
      assert.ok(
        Math.abs(d[i][k] - e) <= 1e-4 + 1e-5 * Math.abs(e),
        `${i},${k}: ${d[i][k]} vs ${e}`,
      );
    });
  });
});

Deno.test("power balance: dE/dt = τ·θ̇ with τ = (−a1, a0 − (d2/d1)·a1); 0 without torque", async () => {
  const { m2, l1, lc1, lc2, I1, I2, m1 } = ACROBOT;
  const states = randomStates(16, 3, 5);
  const rng = seededRandom(4);
  for (const zero of [true, false]) {
    const controls = states.map(() => zero ? [0, 0] : [uniform(rng, -3, 3), uniform(rng, -3, 3)]);
    const s = tf.tensor2d(states);
    const u = tf.tensor2d(controls);
    // dE/dt = ∇E(s) · f(s, u), with ∇E by autodiff of the energy.
    const dEdt = tf.tidy(() => {
      const gradE = tf.grad((x: tf.Tensor) => tf.sum(acrobotEnergy(x)))(s);
      return tf.sum(tf.mul(gradE, acrobotDynamics(s, u)), 1);
    });
    const got = await dEdt.data();
    tf.dispose([s, u, dEdt]);
    states.forEach(([, th2, dth1, dth2], i) => {
      const [a0, a1] = controls[i];
      const d1 = m1 * lc1 ** 2 + m2 * (l1 ** 2 + lc2 ** 2 + 2 * l1 * lc2 * Math.cos(th2)) + I1 +
        I2;
      const d2 = m2 * (lc2 ** 2 + l1 * lc2 * Math.cos(th2)) + I2;
      const power = -a1 * dth1 + (a0 - d2 / d1 * a1) * dth2;
      // The identity cancels terms of size |∇E|·|f| ≈ 10²–10³: float32 leaves ~1e-4 of that.
      assert.ok(
        Math.abs(got[i] - power) < 2e-3,
        `${zero ? "a = 0" : "a ≠ 0"} #${i}: ${got[i]} vs ${power}`,
      );
    });
  }
});

Deno.test("simulation: energy conserved without control, changed by exactly the work with it", async () => {
  const states = randomStates(12, 5);
  const s0 = tf.tensor2d(states);
  const zeroU = tf.zeros([12, 2]);
  const before = tf.memory().numTensors;
  const sim = await simulateAcrobot(s0, zeroU, 32);
  assert.deepEqual(sim.states.shape, [33, 12, 4]);
  assert.equal(sim.ts.length, 33);
  assert.ok(Math.abs(sim.ts[32] - 1.6) < 1e-12);
  const energies = tf.tidy(() => acrobotEnergy(tf.reshape(sim.states, [-1, 4])));
  const E = await energies.data();
  tf.dispose([sim.states, energies]);
  assert.equal(tf.memory().numTensors, before, "simulateAcrobot leaked tensors");
  for (let b = 0; b < 12; b++) {
    for (let k = 1; k <= 32; k++) {
      // rtol 1e-6 per step, ~35 steps, float32 states, |E| ≲ 40 J: measured drift 1.5e-4 J.
      assert.ok(Math.abs(E[k * 12 + b] - E[b]) < 1e-3, `trial ${b} t=${k * 0.05}: energy drifted`);
    }
  }

  // With a constant torque the energy changes by the work ∫ τ·θ̇ dt, integrated here with
  // Simpson's rule on a fine (0.005 s) grid from the simulated states.
  const u = [1.5, -2];
  const control = tf.tensor2d([u]);
  const fine = await simulateAcrobot(s0, control, 200, { dt: 0.005 });
  const traj = await fine.states.array();
  const eT = tf.tidy(() => acrobotEnergy(tf.reshape(fine.states, [-1, 4])));
  const e = await eT.data();
  tf.dispose([fine.states, control, s0, zeroU, eT]);
  const { m2, l1, lc1, lc2, I1, I2, m1 } = ACROBOT;
  for (let b = 0; b < 12; b++) {
    const power = traj.map((row) => {
      const [, th2, dth1, dth2] = row[b];
      const d1 = m1 * lc1 ** 2 + m2 * (l1 ** 2 + lc2 ** 2 + 2 * l1 * lc2 * Math.cos(th2)) + I1 +
        I2;
      const d2 = m2 * (lc2 ** 2 + l1 * lc2 * Math.cos(th2)) + I2;
      return -u[1] * dth1 + (u[0] - d2 / d1 * u[1]) * dth2;
    });
    let work = 0;
    for (let k = 0; k < 200; k += 2) {
      work += 0.005 / 3 * (power[k] + 4 * power[k + 1] + power[k + 2]);
    }
    const dE = e[200 * 12 + b] - e[b];
    // Simpson error O(h⁴·P⁗) ≈ 1e-6; float32 energies ≈ 1e-5: 1e-3 J is ample, and the change
    // itself is large (not conserved).
    assert.ok(
      Math.abs(dE - work) < 1e-3 + 1e-4 * Math.abs(work),
      `trial ${b}: ΔE ${dE} vs W ${work}`,
    );
  }
  const changes = Array.from({ length: 12 }, (_, b) => Math.abs(e[200 * 12 + b] - e[b]));
  assert.ok(changes.filter((c) => c > 0.1).length >= 10, `energy barely changed: ${changes}`);
});

Deno.test("bad shapes and arguments give clear errors", async () => {
  const s = tf.zeros([3, 4]);
  assert.throws(
    () => acrobotDynamics(tf.zeros([3, 3]), tf.zeros([3, 2])),
    /state must have shape \[batch, 4\]/,
  );
  assert.throws(() => acrobotDynamics(s, tf.zeros([2, 2])), /control has 2 rows for 3 states/);
  assert.throws(() => acrobotEnergy(tf.zeros([4])), /state must have shape \[batch, 4\]/);
  await assert.rejects(simulateAcrobot(s, tf.zeros([3, 2]), 0), /steps must be a positive integer/);
  await assert.rejects(simulateAcrobot(s, tf.zeros([3, 2]), 2, { dt: -1 }), /dt must be > 0/);
  // One control row broadcasts over the batch.
  const d = acrobotDynamics(s, tf.zeros([1, 2]));
  assert.deepEqual(d.shape, [3, 4]);
  tf.dispose([s, d]);
});
