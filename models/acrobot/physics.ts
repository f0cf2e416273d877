/**
 * The fully-actuated acrobot (two links, both joints driven), batched on tfjs and simulated with
 * this library's own `odeint`.
 *
 * State `(θ1, θ2, θ̇1, θ̇2)`: `θ1` is the angle of the first link from hanging straight down, `θ2`
 * the angle of the second link relative to the first. Control `a = (a0, a1)`, held constant over
 * each control step of {@link ACROBOT}`.dt` = 0.05 s. The equations of motion are Sutton & Barto's
 * ("book") acrobot with a second torque, as in the Symplectic ODE-Net experiments:
 *
 * ```
 * d1 = m1·lc1² + m2·(l1² + lc2² + 2·l1·lc2·cos θ2) + I1 + I2
 * d2 = m2·(lc2² + l1·lc2·cos θ2) + I2
 * φ2 = m2·lc2·g·cos(θ1 + θ2 − π/2)
 * φ1 = −m2·l1·lc2·θ̇2²·sin θ2 − 2·m2·l1·lc2·θ̇2·θ̇1·sin θ2 + (m1·lc1 + m2·l1)·g·cos(θ1 − π/2) + φ2
 * θ̈2 = (a0 + d2/d1·φ1 − m2·l1·lc2·θ̇1²·sin θ2 − φ2) / (m2·lc2² + I2 − d2²/d1)
 * θ̈1 = −(a1 + d2·θ̈2 + φ1) / d1
 * ```
 *
 * In Lagrangian form `M(θ)·θ̈ + C(θ, θ̇) + ∇V(θ) = τ` with `M = [[d1, d2], [d2, m2·lc2² + I2]]`,
 * `V = −(m1·lc1 + m2·l1)·g·cos θ1 − m2·lc2·g·cos(θ1 + θ2)`, and generalised forces
 * `τ = (−a1, a0 − (d2/d1)·a1)`: the input matrix depends on the state, which is what the
 * Symplectic ODE-Net's `g(q)` learns. With `a = 0` the energy `½·θ̇ᵀMθ̇ + V` is conserved.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  maxNorm,
  type MethodName,
  odeint,
  type OdeintOptions,
  type SolveStats,
} from "../../mod.ts";

/** The acrobot's constants (SI units) and the control step. */
export interface AcrobotConstants {
  /** Length of link 1 (m). */
  readonly l1: number;
  /** Length of link 2 (m); only drawing uses it. */
  readonly l2: number;
  /** Mass of link 1 (kg). */
  readonly m1: number;
  /** Mass of link 2 (kg). */
  readonly m2: number;
  /** Position of link 1's centre of mass along it (m). */
  readonly lc1: number;
  /** Position of link 2's centre of mass along it (m). */
  readonly lc2: number;
  /** Moment of inertia of link 1 about its centre of mass (kg·m²). */
  readonly I1: number;
  /** Moment of inertia of link 2 about its centre of mass (kg·m²). */
  readonly I2: number;
  /** Gravity (m/s²). */
  readonly g: number;
  /** Control step: the control is held constant for this long (s). */
  readonly dt: number;
  /** Speed limit of joint 1 (rad/s): data-set trials reaching it are redrawn. */
  readonly maxVel1: number;
  /** Speed limit of joint 2 (rad/s): data-set trials reaching it are redrawn. */
  readonly maxVel2: number;
}

/**
 * The acrobot of the experiment: links of length 1 m and mass 1 kg, centres of mass at 0.5 m,
 * moments of inertia 1 kg·m², g = 9.8 m/s², control step 0.05 s, speed limits 4π and 9π rad/s.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ACROBOT } from "@fasterode/fasterode/models/acrobot";
 * assert.equal(ACROBOT.dt, 0.05);
 * ```
 */
export const ACROBOT: AcrobotConstants = Object.freeze({
  l1: 1,
  l2: 1,
  m1: 1,
  m2: 1,
  lc1: 0.5,
  lc2: 0.5,
  I1: 1,
  I2: 1,
  g: 9.8,
  dt: 0.05,
  maxVel1: 4 * Math.PI,
  maxVel2: 9 * Math.PI,
});

function checkBatch(x: tf.Tensor, width: number, what: string): void {
  if (!(x instanceof tf.Tensor)) throw new TypeError(`${what} must be a tf.Tensor`);
  if (x.rank !== 2 || x.shape[1] !== width) {
    throw new TypeError(`${what} must have shape [batch, ${width}], got [${x.shape}]`);
  }
}

/**
 * The time derivative `(θ̇1, θ̇2, θ̈1, θ̈2)` of a batch of states `[B, 4]` under controls `[B, 2]`
 * (or `[1, 2]`, broadcast), in float32.
 *
 * `cos(θ1 − π/2)` and `cos(θ1 + θ2 − π/2)` are computed as `sin θ1` and `sin(θ1 + θ2)` (the same
 * numbers, without float32 rounding of π/2).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import assert from "node:assert/strict";
 * import { acrobotDynamics } from "@fasterode/fasterode/models/acrobot";
 * // Hanging straight down at rest with no torque: an equilibrium.
 * const d = acrobotDynamics(tf.zeros([1, 4]), tf.zeros([1, 2]));
 * assert.ok(Array.from(await d.data()).every((v) => v === 0));
 * ```
 */
export function acrobotDynamics(state: tf.Tensor, control: tf.Tensor): tf.Tensor2D {
  checkBatch(state, 4, "state");
  checkBatch(control, 2, "control");
  if (control.shape[0] !== state.shape[0] && control.shape[0] !== 1) {
    throw new TypeError(
      `control has ${control.shape[0]} rows for ${
        state.shape[0]
      } states; give one per state or one`,
    );
  }
  const { m1, m2, l1, lc1, lc2, I1, I2, g } = ACROBOT;
  return tf.tidy(() => {
    const [th1, th2, dth1, dth2] = tf.unstack(state, 1);
    const [a0, a1] = tf.unstack(tf.broadcastTo(control, [state.shape[0], 2]), 1);
    const cos2 = tf.cos(th2);
    const sin2 = tf.sin(th2);
    const k = m2 * l1 * lc2;
    const d1 = tf.add(m1 * lc1 ** 2 + m2 * (l1 ** 2 + lc2 ** 2) + I1 + I2, tf.mul(2 * k, cos2));
    const d2 = tf.add(m2 * lc2 ** 2 + I2, tf.mul(k, cos2));
    const phi2 = tf.mul(m2 * lc2 * g, tf.sin(tf.add(th1, th2)));
    const phi1 = tf.addN([
      tf.mul(-k, tf.mul(tf.mul(dth2, tf.add(dth2, tf.mul(2, dth1))), sin2)),
      tf.mul((m1 * lc1 + m2 * l1) * g, tf.sin(th1)),
      phi2,
    ]);
    const d2OverD1 = tf.div(d2, d1);
    const ddth2 = tf.div(
      tf.addN([
        a0,
        tf.mul(d2OverD1, phi1),
        tf.mul(-k, tf.mul(tf.square(dth1), sin2)),
        tf.neg(phi2),
      ]),
      tf.sub(m2 * lc2 ** 2 + I2, tf.mul(d2OverD1, d2)),
    );
    const ddth1 = tf.neg(tf.div(tf.addN([a1, tf.mul(d2, ddth2), phi1]), d1));
    return tf.stack([dth1, dth2, ddth1, ddth2], 1) as tf.Tensor2D;
  });
}

/**
 * Total mechanical energy `½·θ̇ᵀM(θ)θ̇ + V(θ)` of a batch of states `[B, 4]` → `[B]` (J), with the
 * potential zero at the pivot height: hanging down at rest is `−(m1·lc1 + m2·l1 + m2·lc2)·g`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import assert from "node:assert/strict";
 * import { acrobotEnergy } from "@fasterode/fasterode/models/acrobot";
 * const e = await acrobotEnergy(tf.tensor2d([[0, 0, 0, 0], [Math.PI, 0, 0, 0]])).data();
 * assert.ok(Math.abs(e[0] + 2 * 9.8) < 1e-5);   // hanging down: −(0.5 + 1 + 0.5)·g
 * assert.ok(Math.abs(e[1] - 2 * 9.8) < 1e-4);   // balanced upright
 * ```
 */
export function acrobotEnergy(state: tf.Tensor): tf.Tensor1D {
  checkBatch(state, 4, "state");
  const { m1, m2, l1, lc1, lc2, I1, I2, g } = ACROBOT;
  return tf.tidy(() => {
    const [th1, th2, dth1, dth2] = tf.unstack(state, 1);
    const cos2 = tf.cos(th2);
    const k = m2 * l1 * lc2;
    const d1 = tf.add(m1 * lc1 ** 2 + m2 * (l1 ** 2 + lc2 ** 2) + I1 + I2, tf.mul(2 * k, cos2));
    const d2 = tf.add(m2 * lc2 ** 2 + I2, tf.mul(k, cos2));
    const kinetic = tf.mul(
      0.5,
      tf.addN([
        tf.mul(d1, tf.square(dth1)),
        tf.mul(tf.mul(2, d2), tf.mul(dth1, dth2)),
        tf.mul(m2 * lc2 ** 2 + I2, tf.square(dth2)),
      ]),
    );
    const potential = tf.add(
      tf.mul(-(m1 * lc1 + m2 * l1) * g, tf.cos(th1)),
      tf.mul(-m2 * lc2 * g, tf.cos(tf.add(th1, th2))),
    );
    return tf.add(kinetic, potential) as tf.Tensor1D;
  });
}

/** Options of {@link simulateAcrobot}. */
export interface SimulateOptions {
  /** Length of a control step (default {@link ACROBOT}`.dt` = 0.05 s). */
  dt?: number;
  /** Relative tolerance (default 1e-6: near the float32 limit, far tighter than the data needs). */
  rtol?: number;
  /** Absolute tolerance (default 1e-6). */
  atol?: number;
  /** Runge–Kutta method (default `"dopri5"`). */
  method?: MethodName;
  /** Most solver steps before the solve fails (default 100000). */
  maxSteps?: number;
  /** Called with the time of every vector-field evaluation (progress reporting). */
  onEval?: (t: number) => void;
}

/** Result of {@link simulateAcrobot}. */
export interface AcrobotSimulation {
  /** The times `0, dt, …, steps·dt`. */
  ts: number[];
  /** States at those times, `[steps + 1, B, 4]` (angles not wrapped). Owned by the caller. */
  states: tf.Tensor3D;
  /** Solver statistics. */
  stats: SolveStats;
}

/**
 * Simulates a batch of acrobots for `steps` control steps, each with its own constant control,
 * in one adaptive solve. The error norm is the max over every trial and channel, so every trial
 * meets the tolerance; states at the control-step times come from dense output.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import assert from "node:assert/strict";
 * import { acrobotEnergy, simulateAcrobot } from "@fasterode/fasterode/models/acrobot";
 * const s0 = tf.tensor2d([[1, -0.5, 0.3, 0], [0.2, 0.1, 0, 0]]);
 * const sim = await simulateAcrobot(s0, tf.zeros([2, 2]), 10);
 * assert.deepEqual(sim.states.shape, [11, 2, 4]);
 * // No torque: the energy at 0.5 s equals the energy at 0.
 * const e0 = await acrobotEnergy(s0).data();
 * const e1 = await acrobotEnergy(tf.squeeze(tf.slice(sim.states, [10], [1]), [0])).data();
 * assert.ok(Math.abs(e1[0] - e0[0]) < 1e-3 && Math.abs(e1[1] - e0[1]) < 1e-3);
 * sim.states.dispose();
 * ```
 */
export async function simulateAcrobot(
  state0: tf.Tensor,
  control: tf.Tensor,
  steps: number,
  options: SimulateOptions = {},
): Promise<AcrobotSimulation> {
  checkBatch(state0, 4, "state0");
  checkBatch(control, 2, "control");
  if (!Number.isInteger(steps) || steps < 1) {
    throw new RangeError(`steps must be a positive integer, got ${steps}`);
  }
  const { dt = ACROBOT.dt, rtol = 1e-6, atol = 1e-6, method = "dopri5", maxSteps, onEval } =
    options;
  if (!(dt > 0)) throw new RangeError(`dt must be > 0, got ${dt}`);
  const ts = Array.from({ length: steps + 1 }, (_, i) => i * dt);
  // Dynamics are evaluated once per stage; `control` is read through the closure.
  acrobotDynamics(state0, control).dispose(); // validates the shapes before solving
  const f = (t: number, y: tf.Tensor) => {
    onEval?.(t);
    return acrobotDynamics(y, control);
  };
  // Outputs between steps come from dense output. (Stepping exactly onto every output time with
  // `stepT` was tried: an adaptive step can end a few ulps before a break time, and the next,
  // sub-ulp step then fails with a step-size underflow.)
  const solveOptions: OdeintOptions = { method, rtol, atol, norm: maxNorm, maxSteps };
  const sol = await odeint(f, state0, ts, solveOptions);
  return { ts, states: sol.ys as tf.Tensor3D, stats: sol.stats };
}
