/**
 * Energy-shaping control of the true acrobot with a learned Symplectic ODE-Net.
 *
 * From 0.05 rad off hanging straight down, at rest (hanging exactly at rest is an equilibrium of
 * the closed loop, `∂V/∂q = 0`, where it would sit until rounding tips it), every 0.05 s the
 * controller computes
 *
 * ```
 * u = gᵀ(g·gᵀ)⁻¹·(2·∂V/∂q − q̇),   ∂V/∂q = −∂V/∂cos q ⊙ sin q + ∂V/∂sin q ⊙ cos q
 * ```
 *
 * from the model's potential `V` and input matrix `g` at the current state (energy shaping with
 * the desired potential `−V`, plus damping injection with gain 1), and holds it for the control
 * step while the true physics ({@link simulateAcrobot}) moves the acrobot. A well-trained model
 * swings the acrobot up and balances it upright; the true acrobot's `V` and `g`
 * ({@link trueAcrobotModel}) are the oracle, and {@link uprightVerdict} says whether a
 * trajectory got there.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ACROBOT, acrobotEnergy, simulateAcrobot } from "./physics.ts";

/**
 * What the controller needs of a model, in the coordinates `cosSin = (cos q1, cos q2, sin q1,
 * sin q2)` `[B, 4]`: `∂V/∂(cos q, sin q)` `[B, 4]` and the input matrix `g(q)` `[B, 2, 2]`
 * (generalised forces `τ = g·u`). A trained `Symoden` is one; {@link trueAcrobotModel} is the
 * true acrobot's (the oracle).
 */
export interface EnergyShapingModel {
  /** `∂V/∂(cos q1, cos q2, sin q1, sin q2)` at `cosSin` `[B, 4]`. */
  potentialGradient(cosSin: tf.Tensor): tf.Tensor2D;
  /** `g(q)` `[B, 2, 2]` at `cosSin`. */
  inputMatrix(cosSin: tf.Tensor): tf.Tensor3D;
}

/**
 * The true acrobot's potential and input matrix, as an {@link EnergyShapingModel}: the oracle
 * the learned model is measured against. From the equations of physics.ts, with `c = cos`,
 * `s = sin`, `a = (m1·lc1 + m2·l1)·g`, `b = m2·lc2·g`:
 *
 * ```
 * V = −a·c1 − b·(c1·c2 − s1·s2)
 * g(q) = [[0, −1], [1, −d2/d1]],   d1 = 3.5 + cos q2,  d2 = 1.25 + 0.5·cos q2
 * ```
 *
 * (`τ = (−a1, a0 − (d2/d1)·a1)`, the generalised forces of the controls).
 *
 * @example ∂V/∂q of the true potential is the gravity torque
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { trueAcrobotModel } from "@fasterode/fasterode/models/acrobot";
 * const q = [0.3, -0.4];
 * const cosSin = tf.tensor2d([[Math.cos(q[0]), Math.cos(q[1]), Math.sin(q[0]), Math.sin(q[1])]]);
 * const [dc1, dc2, ds1, ds2] = await trueAcrobotModel().potentialGradient(cosSin).data();
 * // dV/dθ1 = −dV/dc1·s1 + dV/ds1·c1 = a·sin θ1 + b·sin(θ1 + θ2)
 * const dVdq1 = -dc1 * Math.sin(q[0]) + ds1 * Math.cos(q[0]);
 * assert.ok(Math.abs(dVdq1 - (14.7 * Math.sin(q[0]) + 4.9 * Math.sin(q[0] + q[1]))) < 1e-5);
 * assert.ok(Math.abs(-dc2 * Math.sin(q[1]) + ds2 * Math.cos(q[1]) - 4.9 * Math.sin(q[0] + q[1])) < 1e-5);
 * ```
 */
export function trueAcrobotModel(): EnergyShapingModel {
  const { m1, m2, l1, lc1, lc2, I1, I2, g } = ACROBOT;
  const a = (m1 * lc1 + m2 * l1) * g, b = m2 * lc2 * g, k = m2 * l1 * lc2;
  const parts = (cosSin: tf.Tensor) => tf.unstack(cosSin, 1);
  return {
    potentialGradient: (cosSin) =>
      tf.tidy(() => {
        const [c1, c2, s1, s2] = parts(cosSin);
        return tf.stack([
          tf.sub(-a, tf.mul(b, c2)), // ∂V/∂c1
          tf.mul(-b, c1), // ∂V/∂c2
          tf.mul(b, s2), // ∂V/∂s1
          tf.mul(b, s1), // ∂V/∂s2
        ], 1) as tf.Tensor2D;
      }),
    inputMatrix: (cosSin) =>
      tf.tidy(() => {
        const [, c2] = parts(cosSin);
        const d1 = tf.add(m1 * lc1 ** 2 + m2 * (l1 ** 2 + lc2 ** 2) + I1 + I2, tf.mul(2 * k, c2));
        const d2 = tf.add(m2 * lc2 ** 2 + I2, tf.mul(k, c2));
        const zero = tf.zerosLike(c2), one = tf.onesLike(c2);
        return tf.reshape(
          tf.stack([zero, tf.neg(one), one, tf.neg(tf.div(d2, d1))], 1),
          [-1, 2, 2],
        ) as tf.Tensor3D;
      }),
  };
}

/**
 * Whether a trajectory ends upright: over its last `window` seconds (default 2), every state
 * within `tol` rad (default 0.3) of upright, both `θ1` mod 2π near π and `θ2` mod 2π near 0.
 * Returns the verdict, the largest distance from upright in that window (and each angle's),
 * the final state, and a one-line verdict for a command line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { uprightVerdict } from "@fasterode/fasterode/models/acrobot";
 * const traj = {
 *   times: [0, 1, 2], angles: [[0, 0], [3.1, 0.05], [3 * Math.PI, -0.02]] as [number, number][],
 *   velocities: [[0, 0], [0, 0], [0, 0]] as [number, number][], controls: [], energy: [],
 * };
 * const v = uprightVerdict(traj, { window: 1, tol: 0.09 });
 * assert.equal(v.upright, true);
 * assert.ok(Math.abs(v.maxDistance - 0.05) < 1e-12);
 * assert.equal(uprightVerdict(traj, { window: 2, tol: 0.09 }).upright, false);
 * ```
 */
export function uprightVerdict(
  trajectory: ControlTrajectory,
  options: { window?: number; tol?: number } = {},
): {
  upright: boolean;
  maxDistance: number;
  theta1Distance: number;
  theta2Distance: number;
  final: { time: number; angles: [number, number]; velocities: [number, number] };
  line: string;
} {
  const { window = 2, tol = 0.3 } = options;
  const { times, angles, velocities } = trajectory;
  const end = times[times.length - 1];
  const wrap = (x: number) => x - 2 * Math.PI * Math.round(x / (2 * Math.PI)); // to [−π, π]
  let theta1Distance = 0, theta2Distance = 0;
  for (let i = 0; i < times.length; i++) {
    if (times[i] < end - window - 1e-9) continue;
    theta1Distance = Math.max(theta1Distance, Math.abs(wrap(angles[i][0] - Math.PI)));
    theta2Distance = Math.max(theta2Distance, Math.abs(wrap(angles[i][1])));
  }
  const maxDistance = Math.max(theta1Distance, theta2Distance);
  const last = times.length - 1;
  const final = { time: end, angles: angles[last], velocities: velocities[last] };
  const upright = maxDistance <= tol;
  const f = (xs: number[]) => xs.map((x) => x.toFixed(3)).join(", ");
  const line =
    `${upright ? "reached upright" : "did NOT reach upright"}: over the last ${window} s ` +
    `of ${end.toFixed(1)} s the largest distance from upright is ${maxDistance.toFixed(3)} rad ` +
    `(${upright ? "≤" : ">"} ${tol}; θ1 ${theta1Distance.toFixed(3)}, θ2 ${
      theta2Distance.toFixed(3)
    }); final (θ1, θ2, θ̇1, θ̇2) = (${f(final.angles)}, ` +
    `${f(final.velocities)}) at t = ${end.toFixed(2)} s`;
  return { upright, maxDistance, theta1Distance, theta2Distance, final, line };
}

/** Options of {@link runEnergyShaping}. Every option is optional. */
export interface EnergyShapingOptions {
  /** Simulated time (default 20 s). */
  duration?: number;
  /** Control step (default 0.05 s). */
  dt?: number;
  /**
   * Start state `(θ1, θ2, θ̇1, θ̇2)` (default `(0.05, 0, 0, 0)`: 0.05 rad off hanging, at rest;
   * hanging exactly is an equilibrium of the closed loop).
   */
  initialState?: readonly [number, number, number, number];
  /** Each control component is clipped to `±maxControl` (default Infinity: no clipping). */
  maxControl?: number;
  /** Tolerances of the physics solve (default 1e-6 both). */
  rtol?: number;
  /** Absolute tolerance of the physics solve. */
  atol?: number;
  /** Most solver steps per control step before the loop is declared diverged (default 2000). */
  maxSteps?: number;
}

/** A closed-loop trajectory, as plain arrays (ready for JSON and plotting). */
export interface ControlTrajectory {
  /** Times `0, dt, …, steps·dt` (s). */
  times: number[];
  /** `(θ1, θ2)` at each time (rad, not wrapped). */
  angles: [number, number][];
  /** `(θ̇1, θ̇2)` at each time (rad/s). */
  velocities: [number, number][];
  /** The control `(u0, u1)` held from `times[i]` to `times[i + 1]` (one fewer than `times`). */
  controls: [number, number][];
  /** True mechanical energy at each time (J); upright at rest is `2·g` = 19.6 J. */
  energy: number[];
}

function checkStates(states: tf.Tensor): void {
  if (!(states instanceof tf.Tensor) || states.rank !== 2 || states.shape[1] !== 4) {
    throw new TypeError(
      `states must be a tf.Tensor of shape [batch, 4] = (θ1, θ2, θ̇1, θ̇2), got ${
        states instanceof tf.Tensor ? `[${states.shape}]` : typeof states
      }`,
    );
  }
}

/** `u` `[B, 2]` and `det(g·gᵀ)` `[B]`. */
function controlAndDet(model: EnergyShapingModel, states: tf.Tensor): [tf.Tensor2D, tf.Tensor1D] {
  checkStates(states);
  return tf.tidy(() => {
    const [th1, th2, qd1, qd2] = tf.split(states, 4, 1);
    const cosQ = tf.cos(tf.concat([th1, th2], 1));
    const sinQ = tf.sin(tf.concat([th1, th2], 1));
    const cosSin = tf.concat([cosQ, sinQ], 1) as tf.Tensor2D;
    const dV = model.potentialGradient(cosSin);
    const dVdq = tf.add(
      tf.neg(tf.mul(tf.slice(dV, [0, 0], [-1, 2]), sinQ)),
      tf.mul(tf.slice(dV, [0, 2], [-1, 2]), cosQ),
    );
    const target = tf.sub(tf.mul(2, dVdq), tf.concat([qd1, qd2], 1));
    const [g11, g12, g21, g22] = tf.split(tf.reshape(model.inputMatrix(cosSin), [-1, 4]), 4, 1);
    // A = g·gᵀ = [[A11, A12], [A12, A22]]; u = gᵀ·A⁻¹·target.
    const A11 = tf.add(tf.square(g11), tf.square(g12));
    const A12 = tf.add(tf.mul(g11, g21), tf.mul(g12, g22));
    const A22 = tf.add(tf.square(g21), tf.square(g22));
    const det = tf.sub(tf.mul(A11, A22), tf.square(A12));
    const [r1, r2] = tf.split(target, 2, 1);
    const y1 = tf.div(tf.sub(tf.mul(A22, r1), tf.mul(A12, r2)), det);
    const y2 = tf.div(tf.sub(tf.mul(A11, r2), tf.mul(A12, r1)), det);
    const u = tf.concat([
      tf.add(tf.mul(g11, y1), tf.mul(g21, y2)),
      tf.add(tf.mul(g12, y1), tf.mul(g22, y2)),
    ], 1) as tf.Tensor2D;
    return [u, tf.reshape(det, [-1]) as tf.Tensor1D];
  });
}

/**
 * The energy-shaping control `u = gᵀ(g·gᵀ)⁻¹·(2·∂V/∂q − q̇)` of a model at states
 * `[B, 4] = (θ1, θ2, θ̇1, θ̇2)` → `[B, 2]`. Where `g(q)` is singular the result is not finite.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import assert from "node:assert/strict";
 * import { energyShapingControl, Symoden } from "@fasterode/fasterode/models/acrobot";
 * const model = new Symoden({ massHidden: 4, potentialHidden: 4, inputHidden: 4 });
 * const u = energyShapingControl(model, tf.zeros([3, 4]));
 * assert.deepEqual(u.shape, [3, 2]);
 * tf.dispose(u);
 * model.dispose();
 * ```
 */
export function energyShapingControl(model: EnergyShapingModel, states: tf.Tensor): tf.Tensor2D {
  const [u, det] = controlAndDet(model, states);
  det.dispose();
  return u;
}

/**
 * Runs the energy-shaping controller of `model` on the true acrobot from 0.05 rad off hanging,
 * at rest (or `initialState`), for `duration` (20 s), the control held constant over each control step, and returns the
 * trajectory. Throws an `Error` naming the time and the state when the control is not finite
 * (`g(q)` singular) or when the physics solve fails (a diverging loop; `maxControl` bounds it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runEnergyShaping, Symoden } from "@fasterode/fasterode/models/acrobot";
 * const model = new Symoden({ massHidden: 4, potentialHidden: 4, inputHidden: 4, seed: 3 });
 * const traj = await runEnergyShaping(model, { duration: 0.2 });
 * assert.equal(traj.times.length, 5);
 * assert.equal(traj.controls.length, 4);
 * assert.deepEqual(traj.angles[0], [Math.fround(0.05), 0]); // float32
 * model.dispose();
 * ```
 */
export async function runEnergyShaping(
  model: EnergyShapingModel,
  options: EnergyShapingOptions = {},
): Promise<ControlTrajectory> {
  const {
    duration = 20,
    dt = ACROBOT.dt,
    initialState = [0.05, 0, 0, 0],
    maxControl = Infinity,
    rtol = 1e-6,
    atol = 1e-6,
    maxSteps = 2000,
  } = options;
  if (!(dt > 0) || !Number.isFinite(dt)) throw new RangeError(`dt must be > 0, got ${dt}`);
  if (!(duration >= dt)) throw new RangeError(`duration must be ≥ dt = ${dt}, got ${duration}`);
  if (!(maxControl > 0)) throw new RangeError(`maxControl must be > 0, got ${maxControl}`);
  if (initialState.length !== 4 || !initialState.every(Number.isFinite)) {
    throw new RangeError(`initialState must be 4 finite numbers, got [${initialState}]`);
  }
  const steps = Math.round(duration / dt);
  const times = [0];
  const angles: [number, number][] = [];
  const velocities: [number, number][] = [];
  const controls: [number, number][] = [];
  const energy: number[] = [];
  let state = tf.tensor2d([Array.from(initialState)]);
  const record = async (s: tf.Tensor2D) => {
    const [th1, th2, qd1, qd2] = await s.data();
    angles.push([th1, th2]);
    velocities.push([qd1, qd2]);
    const e = acrobotEnergy(s);
    energy.push((await e.data())[0]);
    e.dispose();
  };
  try {
    await record(state);
    for (let i = 0; i < steps; i++) {
      const t = i * dt;
      const [uT, detT] = controlAndDet(model, state);
      const [uRaw, det] = await Promise.all([uT.data(), detT.data()]);
      tf.dispose([uT, detT]);
      const describe = () =>
        `at t = ${t.toFixed(2)} s (step ${i}), state (θ1, θ2, θ̇1, θ̇2) = ` +
        `(${angles[i].map((a) => a.toFixed(3))}, ${velocities[i].map((v) => v.toFixed(3))})`;
      if (!Number.isFinite(uRaw[0]) || !Number.isFinite(uRaw[1])) {
        throw new Error(
          `energy-shaping control is not finite ${describe()}: u = (${uRaw[0]}, ${uRaw[1]}), ` +
            `det(g·gᵀ) = ${det[0]}; the model's input matrix g(q) is singular there`,
        );
      }
      const u: [number, number] = [
        Math.max(-maxControl, Math.min(maxControl, uRaw[0])),
        Math.max(-maxControl, Math.min(maxControl, uRaw[1])),
      ];
      controls.push(u);
      const control = tf.tensor2d([u]);
      let next: tf.Tensor2D;
      try {
        const sim = await simulateAcrobot(state, control, 1, { dt, rtol, atol, maxSteps });
        next = tf.tidy(() => tf.reshape(tf.slice(sim.states, [1], [1]), [1, 4]) as tf.Tensor2D);
        sim.states.dispose();
      } catch (error) {
        throw new Error(
          `the closed loop diverged ${describe()} with control u = (${u}): the physics solve ` +
            `failed (${(error as Error).message}). An untrained model can demand huge torques; ` +
            `bound them with maxControl`,
          { cause: error },
        );
      } finally {
        control.dispose();
      }
      state.dispose();
      state = next;
      times.push((i + 1) * dt);
      await record(state);
    }
  } finally {
    state.dispose();
  }
  return { times, angles, velocities, controls, energy };
}

/**
 * Writes a trajectory as JSON (creating the folder), for plotting in a notebook.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ControlTrajectory, saveTrajectory } from "@fasterode/fasterode/models/acrobot";
 * const path = await Deno.makeTempFile({ suffix: ".json" });
 * const traj: ControlTrajectory = {
 *   times: [0],
 *   angles: [[0, 0]],
 *   velocities: [[0, 0]],
 *   controls: [],
 *   energy: [-19.6],
 * };
 * await saveTrajectory(path, traj);
 * assert.deepEqual(JSON.parse(await Deno.readTextFile(path)).times, [0]);
 * await Deno.remove(path);
 * ```
 */
export async function saveTrajectory(path: string, trajectory: ControlTrajectory): Promise<void> {
  const slash = path.lastIndexOf("/");
  if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
  await Deno.writeTextFile(path, JSON.stringify(trajectory) + "\n");
}
