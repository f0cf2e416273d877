/**
 * Energy-shaping control of the true acrobot with a learned Symplectic ODE-Net.
 *
 * From hanging straight down at rest, every 0.05 s the controller computes
 *
 * ```
 * u = gᵀ(g·gᵀ)⁻¹·(2·∂V/∂q − q̇),   ∂V/∂q = −∂V/∂cos q ⊙ sin q + ∂V/∂sin q ⊙ cos q
 * ```
 *
 * from the model's potential `V` and input matrix `g` at the current state (energy shaping with
 * the desired potential `−V`, plus damping injection with gain 1), and holds it for the control
 * step while the true physics ({@link simulateAcrobot}) moves the acrobot. A well-trained model
 * swings the acrobot up and balances it upright.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ACROBOT, acrobotEnergy, simulateAcrobot } from "./physics.ts";
import type { Symoden } from "./symoden.ts";

/** Options of {@link runEnergyShaping}. Every option is optional. */
export interface EnergyShapingOptions {
  /** Simulated time (default 20 s). */
  duration?: number;
  /** Control step (default 0.05 s). */
  dt?: number;
  /** Start state `(θ1, θ2, θ̇1, θ̇2)` (default hanging down at rest, all zeros). */
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
function controlAndDet(model: Symoden, states: tf.Tensor): [tf.Tensor2D, tf.Tensor1D] {
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
 * import { energyShapingControl, Symoden } from "./mod.ts";
 * const model = new Symoden({ massHidden: 4, potentialHidden: 4, inputHidden: 4 });
 * const u = energyShapingControl(model, tf.zeros([3, 4]));
 * assert.deepEqual(u.shape, [3, 2]);
 * tf.dispose(u);
 * model.dispose();
 * ```
 */
export function energyShapingControl(model: Symoden, states: tf.Tensor): tf.Tensor2D {
  const [u, det] = controlAndDet(model, states);
  det.dispose();
  return u;
}

/**
 * Runs the energy-shaping controller of `model` on the true acrobot from hanging down at rest
 * for `duration` (20 s), the control held constant over each control step, and returns the
 * trajectory. Throws an `Error` naming the time and the state when the control is not finite
 * (`g(q)` singular) or when the physics solve fails (a diverging loop; `maxControl` bounds it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runEnergyShaping, Symoden } from "./mod.ts";
 * const model = new Symoden({ massHidden: 4, potentialHidden: 4, inputHidden: 4, seed: 3 });
 * const traj = await runEnergyShaping(model, { duration: 0.2 });
 * assert.equal(traj.times.length, 5);
 * assert.equal(traj.controls.length, 4);
 * assert.deepEqual(traj.angles[0], [0, 0]);
 * model.dispose();
 * ```
 */
export async function runEnergyShaping(
  model: Symoden,
  options: EnergyShapingOptions = {},
): Promise<ControlTrajectory> {
  const {
    duration = 20,
    dt = ACROBOT.dt,
    initialState = [0, 0, 0, 0],
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
 * import { type ControlTrajectory, saveTrajectory } from "./control.ts";
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
