/**
 * Symplectic ODE-Net with control (Zhong, Dey & Chakraborty, ICLR 2020), as used for the
 * fully-actuated acrobot in "Hey, that's not an ODE" (Kidger, Chen & Lyons, 2021).
 *
 * The state is the 8-channel observation `x = (cos q, sin q, q̇, u)` (`q` two angles, `u` a
 * control held constant). Three networks of `(cos q1, cos q2, sin q1, sin q2)` define the model:
 *
 * - `M⁻¹(q) = L·Lᵀ + 0.1·I`, the inverse mass matrix, from an MLP `4 → 400 → 400 → 400 → 3`
 *   (softplus) whose outputs `(l11, l22, l21)` fill the lower-triangular `L`;
 * - `V(q)`, the potential, from an MLP `4 → 300 → 300 → 1` (softplus);
 * - `g(q)`, the 2×2 input matrix, from an MLP `4 → 300 → 300 → 4` (softplus), row-major.
 *
 * With `p = M(q)·q̇` and `H = ½·pᵀM⁻¹(q)p + V(q)` (derivatives taken with `p` held fixed and the
 * four inputs `cos q`, `sin q` independent):
 *
 * ```
 * q̇ = ∂H/∂p,   ṗ = sin q ⊙ ∂H/∂cos q − cos q ⊙ ∂H/∂sin q + g(q)·u,
 * q̈ = M⁻¹ṗ + (dM⁻¹/dt)·p,   dM⁻¹/dt = Σ_k ∂M⁻¹/∂x_k · ẋ_k,   ẋ = (−sin q ⊙ q̇, cos q ⊙ q̇)
 * dx/dt = (−sin q ⊙ q̇, cos q ⊙ q̇, q̈, 0).
 * ```
 *
 * **Derivatives.** The original takes `∂H` and `∂M⁻¹` by autodiff inside the vector field, so
 * the adjoint needs second-order gradients. In tfjs 4.22 the gradients of ops that reuse their
 * saved output (`tanh`, `sigmoid`, `exp`, `elu`) cannot be differentiated again: alone they throw
 * "Cannot compute gradient of y=f(x)…", and inside a larger expression (`log(1 + exp(x))`) that
 * path is silently dropped, giving wrong numbers. Here the derivatives are written out instead,
 * with ordinary tfjs ops: `∂H/∂(cos q, sin q)` by one hand-written reverse pass through the
 * `M⁻¹` and `V` networks (`∂softplus = sigmoid`), and `dM⁻¹/dt` by one forward-mode (tangent)
 * pass through the `M⁻¹` network along `ẋ` (both in softplus_mlp.ts). The vector field is then
 * plain first-order tfjs code: the tape's vector–Jacobian products and discretise-then-optimise
 * both work, and one evaluation costs about a third of the original's five nested autodiff
 * passes. The adjoint of {@link Symoden.step} goes further and needs no tape: the field's VJP is
 * written out too (symoden_field.ts, reverse-over-reverse of the softplus MLPs), with the tape
 * kept as an option (`vjp: "tape"`) for comparison.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  type AdjointOptions,
  adjointValueAndGrads,
  type MethodName,
  odeint,
  odeintAdjoint,
  type OdeintOptions,
  rejectUnknownKeys,
  type SolveStats,
  type VjpField,
} from "../../mod.ts";
import { ACROBOT } from "./physics.ts";
import { seededRandom } from "../data/mod.ts";
import type { StepResult } from "../step.ts";
import { type DenseLayer, inputGradient, mlpForward, softplusMlp } from "./softplus_mlp.ts";
import {
  massInverseEntries,
  symodenField,
  type SymodenNets,
  type SymodenTerms,
  symodenTerms,
} from "./symoden_field.ts";

export type { SymodenNets, SymodenTerms } from "./symoden_field.ts";

/** Sizes and naming of a {@link Symoden}. Every option is optional. */
export interface SymodenOptions {
  /** Hidden width of the `M⁻¹` network (3 hidden layers; default 400). */
  massHidden?: number;
  /** Hidden width of the potential network (2 hidden layers; default 300). */
  potentialHidden?: number;
  /** Hidden width of the input-matrix network (2 hidden layers; default 300). */
  inputHidden?: number;
  /** Seed of the initial weights (default 0). */
  seed?: number;
  /** Prefix of the variable names (default `symoden<k>`, unique per model). */
  name?: string;
}

/**
 * Solver settings of {@link Symoden.evaluate} and {@link Symoden.step}; omitted tolerances are
 * the library's `DEFAULT_TOLERANCES` (the experiment's presets set their own).
 */
export interface SymodenSolveOptions {
  /** Relative tolerance (of the backward solve too, unless `adjoint` sets its own). */
  rtol?: number;
  /** Absolute tolerance (of the backward solve too, unless `adjoint` sets its own). */
  atol?: number;
  /** Runge–Kutta method (default `"dopri5"`). */
  method?: MethodName;
  /**
   * Record the time of every evaluation and step (default false): of the forward solve and, in
   * a training step, of the backward one.
   */
  record?: boolean;
  /** Time between a window's points (default 0.05 s). */
  dt?: number;
}

/** Options of {@link Symoden.step}: the solve's, and the backward solve's. */
export interface SymodenStepOptions extends SymodenSolveOptions {
  /**
   * Backward-solve options, handed to `odeintAdjoint` as they are: the norm
   * (`{ norm: "seminorm" }`), tolerances, …; each defaults to the forward one, the norm to
   * `"default"`.
   */
  adjoint?: AdjointOptions;
  /**
   * How the backward solve gets the vector field's vector–Jacobian products: `"hand"` (the
   * default) from the field's hand-written VJP ({@link Symoden.field}), `"tape"` from tfjs's
   * gradient tape over {@link Symoden.vectorField} (the general path, kept for comparison).
   */
  vjp?: "hand" | "tape";
}

/** Result of {@link Symoden.evaluate}. */
export interface SymodenEvaluation {
  /** Mean squared error over every sample, time point and channel. */
  loss: number;
  /** Samples in the batch. */
  count: number;
  /** Forward-solve statistics. */
  forward: SolveStats;
}

let modelCount = 0;

function checkCosSin(x: tf.Tensor): tf.Tensor2D {
  if (!(x instanceof tf.Tensor) || x.rank !== 2 || x.shape[1] !== 4) {
    throw new TypeError(
      `inputs must be a tf.Tensor of shape [batch, 4] = (cos q1, cos q2, sin q1, sin q2), got ${
        x instanceof tf.Tensor ? `[${x.shape}]` : typeof x
      }`,
    );
  }
  return x as tf.Tensor2D;
}

function checkWindows(windows: tf.Tensor): void {
  if (!(windows instanceof tf.Tensor)) throw new TypeError("windows must be a tf.Tensor");
  const shape = windows.shape as number[];
  if (windows.rank !== 3 || shape[2] !== 8 || shape[1] < 2) {
    throw new TypeError(
      `windows must have shape [batch, time ≥ 2, 8], got [${windows.shape}]`,
    );
  }
  if (shape[0] === 0) throw new RangeError("windows is an empty batch");
  if (windows.dtype !== "float32") {
    throw new TypeError(`windows must be float32, got ${windows.dtype}`);
  }
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${v}`);
  }
  return v;
}

/** The option names of {@link Symoden.evaluate}, and those {@link Symoden.step} adds. */
const SOLVE_KEYS = ["rtol", "atol", "method", "record", "dt"];
const STEP_KEYS = ["adjoint", "vjp"];

/**
 * Throws, naming the targets, when the windows hold a NaN or an infinity (one host read of a
 * count): such a target would otherwise make the loss and every gradient NaN without saying why.
 */
async function checkFinite(windows: tf.Tensor, what: string): Promise<void> {
  const bad = tf.tidy(() => tf.sum(tf.cast(tf.logicalNot(tf.isFinite(windows)), "int32")));
  const count = (await bad.data())[0];
  bad.dispose();
  if (count === 0) return;
  const values = await windows.data();
  const first = values.findIndex((v) => !Number.isFinite(v));
  const [, T, C] = windows.shape as number[];
  const [b, t, c] = [Math.floor(first / (T * C)), Math.floor(first / C) % T, first % C];
  throw new RangeError(
    `${what}: the targets (windows) hold ${count} NaN or infinite value(s), the first at ` +
      `window ${b}, time ${t}, channel ${c} (${values[first]}); drop or fill those windows ` +
      `before training or evaluating`,
  );
}

/** The output times of a step or an evaluation, and the options for the solver. */
function solveSettings(windows: tf.Tensor, options: SymodenSolveOptions): {
  ts: number[];
  solver: OdeintOptions;
} {
  rejectUnknownKeys("Symoden", options, SOLVE_KEYS, ` (and ${STEP_KEYS.join(", ")} in step)`);
  const { dt = ACROBOT.dt, ...rest } = options;
  if (!(dt > 0)) throw new RangeError(`dt must be > 0, got ${dt}`);
  const ts = Array.from({ length: (windows.shape as number[])[1] }, (_, i) => i * dt);
  const solver = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  return { ts, solver };
}

/**
 * Symplectic ODE-Net with control on the acrobot's 8-channel observations (see the module
 * documentation for the equations). Weights are `tf.Variable`s initialised like
 * `torch.nn.Linear` from a seeded generator.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import assert from "node:assert/strict";
 * import { Symoden } from "@fasterode/fasterode/models/acrobot";
 * const model = new Symoden({ massHidden: 8, potentialHidden: 8, inputHidden: 8, seed: 1 });
 * const q = [0.3, -1.2];
 * const x = tf.tensor2d([[Math.cos(q[0]), Math.cos(q[1]), Math.sin(q[0]), Math.sin(q[1]),
 *   0.5, -0.2, 1, 0]]);
 * const dx = model.vectorField(0, x);
 * assert.deepEqual(dx.shape, [1, 8]);
 * // Angles move on the circle: d(cos q)/dt = −sin q · q̇, with the model's q̇ = M⁻¹M q̇ = q̇.
 * const d = await dx.data();
 * assert.ok(Math.abs(d[0] + Math.sin(q[0]) * 0.5) < 1e-5);
 * // A training step on windows [batch, 8 times, 8 channels].
 * const windows = tf.tile(tf.reshape(x, [1, 1, 8]), [2, 8, 1]);
 * const step = await model.step(windows, { adjoint: { norm: "seminorm" } });
 * assert.equal(step.count, 2);
 * tf.train.sgd(1e-3).applyGradients(step.grads);
 * tf.dispose([x, dx, windows, step.grads]);
 * model.dispose();
 * ```
 */
export class Symoden {
  /** Every weight, in a fixed order (`M⁻¹` net, `V` net, `g` net; W then b per layer). */
  readonly variables: tf.Variable[];
  /** The layers of the `M⁻¹` network. */
  readonly massNet: readonly DenseLayer[];
  /** The layers of the potential network. */
  readonly potentialNet: readonly DenseLayer[];
  /** The layers of the input-matrix network. */
  readonly inputNet: readonly DenseLayer[];
  /** The prefix of the variable names. */
  readonly name: string;
  /**
   * The vector field with its hand-written VJP (symoden_field.ts), as {@link step}'s adjoint
   * uses it; callable as `(t, x) => dx/dt` like {@link vectorField}.
   */
  readonly field: VjpField<tf.Tensor>;

  /** Builds the three networks; throws for non-positive sizes or a name already in use. */
  constructor(options: SymodenOptions = {}) {
    const massHidden = positiveInt("massHidden", options.massHidden ?? 400);
    const potentialHidden = positiveInt("potentialHidden", options.potentialHidden ?? 300);
    const inputHidden = positiveInt("inputHidden", options.inputHidden ?? 300);
    const seed = options.seed ?? 0;
    this.name = options.name ?? `symoden${modelCount++}`;
    const taken = Object.keys(tf.engine().registeredVariables)
      .some((n) => n.startsWith(`${this.name}/`));
    if (taken) {
      throw new Error(
        `variables named "${this.name}/…" already exist: give each Symoden a distinct name, ` +
          `or dispose() the old one`,
      );
    }
    const rng = seededRandom(seed);
    this.massNet = softplusMlp(rng, [4, massHidden, massHidden, massHidden, 3], `${this.name}/M`);
    this.potentialNet = softplusMlp(
      rng,
      [4, potentialHidden, potentialHidden, 1],
      `${this.name}/V`,
    );
    this.inputNet = softplusMlp(rng, [4, inputHidden, inputHidden, 4], `${this.name}/g`);
    this.variables = [...this.massNet, ...this.potentialNet, ...this.inputNet]
      .flatMap((l) => [l.W, l.b]);
    this.field = symodenField(this.nets);
  }

  /** The three networks, as the field's functions take them. */
  get nets(): SymodenNets {
    return {
      mass: this.massNet as DenseLayer[],
      potential: this.potentialNet as DenseLayer[],
      input: this.inputNet as DenseLayer[],
    };
  }

  /** Number of scalar weights (509,108 at the default sizes). */
  get parameterCount(): number {
    return this.variables.reduce((n, v) => n + v.size, 0);
  }

  /** Frees the weights. */
  dispose(): void {
    tf.dispose(this.variables);
  }

  /** `M⁻¹(q)` for inputs `[B, 4] = (cos q, sin q)` → `[B, 2, 2]`. */
  massInverse(cosSin: tf.Tensor): tf.Tensor3D {
    return tf.tidy(() => {
      const { out } = mlpForward(this.massNet as DenseLayer[], checkCosSin(cosSin));
      const { a, b, c } = massInverseEntries(out);
      return tf.reshape(tf.concat([a, b, b, c], 1), [-1, 2, 2]) as tf.Tensor3D;
    });
  }

  /** `V(q)` for inputs `[B, 4]` → `[B]`. */
  potential(cosSin: tf.Tensor): tf.Tensor1D {
    const x = checkCosSin(cosSin);
    return tf.tidy(() => tf.reshape(mlpForward(this.potentialNet as DenseLayer[], x).out, [-1]));
  }

  /** `∂V/∂(cos q, sin q)` for inputs `[B, 4]` → `[B, 4]`. */
  potentialGradient(cosSin: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const net = this.potentialNet as DenseLayer[];
      const pass = mlpForward(net, checkCosSin(cosSin));
      return inputGradient(net, pass, tf.onesLike(pass.out));
    });
  }

  /** `g(q)` for inputs `[B, 4]` → `[B, 2, 2]` (row-major from the network's 4 outputs). */
  inputMatrix(cosSin: tf.Tensor): tf.Tensor3D {
    return tf.tidy(() =>
      tf.reshape(mlpForward(this.inputNet as DenseLayer[], checkCosSin(cosSin)).out, [
        -1,
        2,
        2,
      ]) as tf.Tensor3D
    );
  }

  /**
   * Every intermediate of the vector field at observations `x` `[B, 8]` (the caller disposes
   * them; {@link vectorField} is the same computation keeping only `dx/dt`).
   */
  terms(x: tf.Tensor): SymodenTerms {
    return symodenTerms(this.nets, x);
  }

  /**
   * The vector field `dx/dt = f(t, x)` on observations `[B, 8]` (autonomous: `t` is unused).
   * Differentiable to first order with ordinary tfjs gradients.
   */
  vectorField(t: number, x: tf.Tensor): tf.Tensor2D {
    return this.field(t, x) as tf.Tensor2D;
  }

  /**
   * Loss and gradients for a batch of windows `[B, T, 8]` (`T` = 8 in the experiment): solves
   * from each window's first point to times `0, dt, …, (T − 1)·dt` with `odeintAdjoint`, takes
   * the mean squared error over all `T` points and 8 channels, and differentiates it with the
   * adjoint method (`options.adjoint` being its backward options). Returns the training
   * harness's step result as it is; the caller disposes `grads`.
   */
  async step(windows: tf.Tensor, options: SymodenStepOptions = {}): Promise<StepResult> {
    checkWindows(windows);
    const { adjoint = {}, vjp = "hand", ...solve } = options;
    const { ts, solver } = solveSettings(windows, solve);
    if (vjp !== "hand" && vjp !== "tape") {
      throw new TypeError(`Symoden.step: vjp must be "hand" or "tape", got ${JSON.stringify(vjp)}`);
    }
    await checkFinite(windows, "Symoden.step");
    // The tape path sees a plain function (no VJP of its own), as any user field.
    const field = vjp === "hand" ? this.field : (t: number, x: tf.Tensor) => this.field(t, x);
    const res = await adjointValueAndGrads({
      before: () => tf.squeeze(tf.slice(windows, [0, 0, 0], [-1, 1, -1]), [1]),
      solve: (x0) =>
        odeintAdjoint(
          field,
          x0,
          ts,
          this.variables,
          { ...solver, adjoint },
        ),
      after: (ys) =>
        tf.mean(tf.squaredDifference(tf.transpose(ys, [1, 0, 2]), windows)) as tf.Scalar,
    }, this.variables);
    return {
      loss: res.value,
      count: (windows.shape as number[])[0],
      grads: res.grads,
      forward: res.forward,
      backward: res.backward,
    };
  }

  /** The loss of {@link step} without gradients (forward solve only). */
  async evaluate(
    windows: tf.Tensor,
    options: SymodenSolveOptions = {},
  ): Promise<SymodenEvaluation> {
    checkWindows(windows);
    const { ts, solver } = solveSettings(windows, options);
    await checkFinite(windows, "Symoden.evaluate");
    const x0 = tf.tidy(() => tf.squeeze(tf.slice(windows, [0, 0, 0], [-1, 1, -1]), [1]));
    try {
      const sol = await odeint(
        (t, x) => this.vectorField(t, x),
        x0,
        ts,
        solver,
      );
      const mse = tf.tidy(() =>
        tf.mean(tf.squaredDifference(tf.transpose(sol.ys, [1, 0, 2]), windows))
      );
      const loss = (await mse.data())[0];
      tf.dispose([mse, sol.ys]);
      return { loss, count: (windows.shape as number[])[0], forward: sol.stats };
    } finally {
      x0.dispose();
    }
  }
}
