/**
 * A continuous normalising flow in the FFJORD form (Grathwohl et al., 2019), trained with the
 * adjoint method. From a data point `x = z(0)` the state `[z, Δ]` (and, with RNODE's
 * regularisers, `[E, N]`) is solved to `t = T`:
 *
 * ```
 * dz/dt = f(t, z)               z(0) = x
 * dΔ/dt = −tr(∂f/∂z)            Δ(0) = 0
 * dE/dt = ‖f(t, z)‖²            kinetic energy      (RNODE, Finlay et al. 2020)
 * dN/dt = ‖∂f/∂z‖²_F            Jacobian norm       (RNODE)
 * ```
 *
 * and `log p(x) = log N(z(T); 0, I) − Δ(T)` (the instantaneous change of variables). Samples
 * come from solving `dz/dt = f` backwards from `z(T) ~ N(0, I)` to `t = 0`.
 *
 * **The backward norms on this state.** The adjoint's backward state is
 * `[z, Δ, E, N, a_z, a_Δ, a_E, a_N, a_θ]`. The seminorm (`adjoint/norms.ts`) leaves out the
 * parameter adjoints `a_θ` only, as for any model: they are quadratures, `a_θ(0) = dL/dθ`, and
 * nothing in the dynamics reads them, so an error in them stays an error of the same size in
 * the gradient and never feeds back; accepting the steps the other channels need integrates
 * them to about the same accuracy (Kidger, Chen & Lyons, 2021). The CNF adds channels that are
 * safe either way: `a_Δ`, `a_E` and `a_N` are constant in time (`f` reads neither `Δ` nor the
 * regularisers, so their adjoint equations are `da/dt = 0`) — their error estimate is exactly
 * zero and neither norm is limited by them; and the backward solve still integrates the
 * `Δ`, `E`, `N` channels (both norms measure them, as torchdiffeq's seminorm does), though
 * nothing reads them there either. What the seminorm may not drop, and does not, is `z` and
 * `a_z`: `a_z` carries `a_Δ·∂tr(∂f/∂z)/∂z` (the divergence's gradient), and both feed the
 * parameter integrand.
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
  rejectUnknownKeys,
  type SolveStats,
} from "../../mod.ts";
import { seededRandom } from "../data/mod.ts";
import type { StepResult } from "../step.ts";
import { normalSamples } from "./normal.ts";
import {
  divergence,
  exactProbes,
  hutchinsonProbes,
  type ProbeNoise,
  type TraceEstimator,
} from "./trace.ts";
import type { CnfVelocity } from "./velocity.ts";

/** Options of {@link Cnf}. */
export interface CnfOptions {
  /**
   * `"exact"` (D Jacobian–vector products per evaluation) or `"hutchinson"` (one, with a probe
   * fixed per solve); default exact up to 8 dimensions, Hutchinson above.
   */
  trace?: TraceEstimator;
  /** Distribution of Hutchinson's probes (default `"rademacher"`, FFJORD's choice for images). */
  noise?: ProbeNoise;
  /** Weight of RNODE's kinetic-energy regulariser `∫‖f‖² dt` in the loss (default 0: off). */
  kineticWeight?: number;
  /** Weight of RNODE's Jacobian regulariser `∫‖∂f/∂z‖²_F dt` (default 0: off). */
  jacobianWeight?: number;
  /** Integration time `T` (default 0.5, FFJORD's toy `time_length`). */
  time?: number;
  /** Seed of the probes and of {@link Cnf.sample}'s base draws (default 0). */
  seed?: number;
}

/** Solver settings of every solve of a {@link Cnf}; omitted ones are the library's defaults. */
export interface CnfSolveOptions {
  /** Relative tolerance. */
  rtol?: number;
  /** Absolute tolerance. */
  atol?: number;
  /** Runge–Kutta method (default the library's, dopri5). */
  method?: MethodName;
  /** Record the time of every evaluation and step. */
  record?: boolean;
}

/** Options of {@link Cnf.step}. */
export interface CnfStepOptions extends CnfSolveOptions {
  /** Backward-solve options for `odeintAdjoint` (the norm, tolerances, …). */
  adjoint?: AdjointOptions;
  /**
   * A log-Jacobian `[B]` added to every example's log-density (a transform applied to the data
   * before the flow, e.g. the logit transform's); the caller keeps it.
   */
  logDet?: tf.Tensor1D;
  /**
   * The probes of this solve `[B, K, D]` (default: {@link Cnf.probes}, drawn afresh); the
   * caller keeps them.
   */
  probes?: tf.Tensor3D;
}

/** What {@link Cnf.logDensity} returns. */
export interface CnfDensity {
  /** `log p(x)` per example `[B]`, nats (plus `logDet` when given). */
  logp: tf.Tensor1D;
  /** Statistics of the forward solve. */
  stats: SolveStats;
}

const SOLVE_KEYS = ["rtol", "atol", "method", "record"];

/** `log N(z; 0, I)` per row of `z` `[B, D]`, as `[B]`. */
function standardNormalLogDensity(z: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() =>
    tf.sub(tf.mul(-0.5, tf.sum(tf.square(z), 1)), 0.5 * z.shape[1] * Math.log(2 * Math.PI))
  );
}

/**
 * A continuous normalising flow on a velocity field (e.g. {@link TimeMlp}). Its
 * {@link Cnf.step} returns the training harness's `StepResult` for the mean negative
 * log-likelihood (plus the regularisers), with gradients by the adjoint method.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { Cnf, TimeMlp } from "@fasterode/fasterode/models/cnf";
 * const cnf = new Cnf(new TimeMlp({ dim: 2, hidden: [8] }));
 * const x = tf.tensor2d([[0.1, 0.2], [-1, 0.5]]);
 * const step = await cnf.step(x, { rtol: 1e-3, atol: 1e-5, adjoint: { norm: "seminorm" } });
 * assert.ok(Number.isFinite(step.loss) && step.backward.nfe > 0);
 * assert.equal(Object.keys(step.grads).length, cnf.variables.length);
 * tf.dispose([x, step.grads]);
 * cnf.dispose();
 * ```
 */
export class Cnf {
  /** The velocity field. */
  readonly velocity: CnfVelocity;
  /** The trace estimator. */
  readonly trace: TraceEstimator;
  /** Hutchinson's probe distribution. */
  readonly noise: ProbeNoise;
  /** Weight of the kinetic-energy regulariser. */
  readonly kineticWeight: number;
  /** Weight of the Jacobian regulariser. */
  readonly jacobianWeight: number;
  /** Integration time `T`. */
  readonly time: number;
  readonly #random: () => number;

  /** A flow on `velocity` (which it owns: {@link Cnf.dispose} frees it). */
  constructor(velocity: CnfVelocity, options: CnfOptions = {}) {
    const known = ["trace", "noise", "kineticWeight", "jacobianWeight", "time", "seed"];
    rejectUnknownKeys("Cnf", options, known);
    const {
      trace = velocity.dim <= 8 ? "exact" : "hutchinson",
      noise = "rademacher",
      kineticWeight = 0,
      jacobianWeight = 0,
      time = 0.5,
      seed = 0,
    } = options;
    if (trace !== "exact" && trace !== "hutchinson") {
      throw new RangeError(`Cnf: trace must be "exact" or "hutchinson", got "${trace}"`);
    }
    if (noise !== "rademacher" && noise !== "gaussian") {
      throw new RangeError(`Cnf: noise must be "rademacher" or "gaussian", got "${noise}"`);
    }
    for (
      const [name, w] of [["kineticWeight", kineticWeight], ["jacobianWeight", jacobianWeight]]
    ) {
      if (typeof w !== "number" || !(w >= 0) || !Number.isFinite(w)) {
        throw new RangeError(`Cnf: ${name} must be a finite number >= 0, got ${w}`);
      }
    }
    if (!(time > 0) || !Number.isFinite(time)) {
      throw new RangeError(`Cnf: time must be a finite number > 0, got ${time}`);
    }
    this.velocity = velocity;
    this.trace = trace;
    this.noise = noise;
    this.kineticWeight = kineticWeight;
    this.jacobianWeight = jacobianWeight;
    this.time = time;
    this.#random = seededRandom(seed);
  }

  /** The trainable weights (the velocity field's). */
  get variables(): tf.Variable[] {
    return this.velocity.variables;
  }

  /** Number of trainable scalars. */
  get parameterCount(): number {
    return this.variables.reduce((n, v) => n + v.size, 0);
  }

  /** The regulariser channels the state carries (those with a weight > 0). */
  get #regularisers(): ("kinetic" | "jacobian")[] {
    const r: ("kinetic" | "jacobian")[] = [];
    if (this.kineticWeight > 0) r.push("kinetic");
    if (this.jacobianWeight > 0) r.push("jacobian");
    return r;
  }

  /**
   * Probes for one solve of a batch of `batch`: the basis (exact trace) or a fresh Hutchinson
   * draw from the flow's seeded generator. The caller disposes them after the solve (and after
   * the backward solve, which must see the same probes).
   */
  probes(batch: number): tf.Tensor3D {
    const D = this.velocity.dim;
    return this.trace === "exact"
      ? exactProbes(batch, D)
      : hutchinsonProbes(batch, 1, D, this.noise, this.#random);
  }

  /**
   * The augmented field on `[z, Δ, (E), (N)]` with the given probes: `[f, −tr, (‖f‖²),
   * (‖J‖²_F)]`.
   */
  dynamics(probes: tf.Tensor3D): (t: number, y: tf.Tensor[]) => tf.Tensor[] {
    const regs = this.#regularisers;
    return (t: number, y: tf.Tensor[]) =>
      tf.tidy(() => {
        const z = y[0] as tf.Tensor2D;
        const d = divergence(this.velocity, t, z, probes, this.trace);
        const out: tf.Tensor[] = [d.value, tf.neg(d.trace)];
        for (const r of regs) {
          out.push(
            r === "kinetic" ? tf.sum(tf.square(d.value), 1, true) : d.frobenius,
          );
        }
        return out;
      });
  }

  /** The initial state `[x, 0, (0), (0)]` for data `x` `[B, D]`. */
  initialState(x: tf.Tensor2D): tf.Tensor[] {
    this.#checkData(x, "x");
    const B = x.shape[0];
    return tf.tidy(() => [
      tf.clone(x),
      ...Array.from({ length: 1 + this.#regularisers.length }, () => tf.zeros([B, 1])),
    ]);
  }

  /**
   * `log p(x)` per example for data `x` `[B, D]`, by a forward solve (no gradients). With
   * `logDet`, that is added (the density of the data before a transform).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import * as tf from "@tensorflow/tfjs";
   * import { Cnf, TimeMlp } from "@fasterode/fasterode/models/cnf";
   * const cnf = new Cnf(new TimeMlp({ dim: 2, hidden: [8] }));
   * const x = tf.tensor2d([[0, 0], [1, 1]]);
   * const { logp } = await cnf.logDensity(x);
   * assert.deepEqual(logp.shape, [2]);
   * tf.dispose([x, logp]);
   * cnf.dispose();
   * ```
   */
  async logDensity(
    x: tf.Tensor2D,
    options: CnfSolveOptions & { logDet?: tf.Tensor1D } = {},
  ): Promise<CnfDensity> {
    const { logDet, ...solve } = options;
    const solver = solverOptions(solve);
    const probes = this.probes(x.shape[0]);
    const y0 = this.initialState(x);
    try {
      const sol = await odeint(this.dynamics(probes), y0, [0, this.time], solver);
      const logp = tf.tidy(() => this.#logp(sol.ys, logDet));
      tf.dispose(sol.ys);
      return { logp, stats: sol.stats };
    } finally {
      tf.dispose([probes, y0]);
    }
  }

  /**
   * `log p(x) = log N(z(T)) − Δ(T) (+ logDet)` per example `[B]` from a solve's outputs at
   * `[0, T]` (`ys[0]` `[2, B, D]`, `ys[1]` `[2, B, 1]`), e.g. of {@link Cnf.dynamics}.
   */
  logpFromOutputs(ys: tf.Tensor[], logDet?: tf.Tensor1D): tf.Tensor1D {
    return tf.tidy(() => this.#logp(ys, logDet));
  }

  /** `log N(z(T)) − Δ(T) (+ logDet)` from the solution's outputs `[2, B, …]`. */
  #logp(ys: tf.Tensor[], logDet?: tf.Tensor1D): tf.Tensor1D {
    const B = ys[0].shape[1]!;
    const D = this.velocity.dim;
    const zT = tf.reshape(tf.slice(ys[0], [1, 0, 0], [1, B, D]), [B, D]) as tf.Tensor2D;
    const delta = tf.reshape(tf.slice(ys[1], [1, 0, 0], [1, B, 1]), [B]);
    const logp = tf.sub(standardNormalLogDensity(zT), delta) as tf.Tensor1D;
    return logDet === undefined ? logp : tf.add(logp, logDet);
  }

  /**
   * Loss and gradients of one batch `x` `[B, D]` by the adjoint method: the loss is the mean
   * negative log-likelihood (nats) plus the weighted regularisers' means. Returns the training
   * harness's step result; the caller disposes `grads`.
   */
  async step(x: tf.Tensor2D, options: CnfStepOptions = {}): Promise<StepResult> {
    const { adjoint = {}, logDet, probes: given, ...solve } = options;
    const solver = solverOptions(solve);
    const B = x.shape[0];
    const probes = given ?? this.probes(B);
    const field = this.dynamics(probes);
    const regs = this.#regularisers;
    const weights = regs.map((r) => r === "kinetic" ? this.kineticWeight : this.jacobianWeight);
    try {
      const res = await adjointValueAndGrads<tf.Tensor[]>({
        before: () => this.initialState(x),
        solve: (y0) =>
          odeintAdjoint(field, y0, [0, this.time], this.variables, { ...solver, adjoint }),
        after: (ys) =>
          tf.tidy(() => {
            let loss = tf.neg(tf.mean(this.#logp(ys, logDet)));
            regs.forEach((_, k) => {
              const r = tf.slice(ys[2 + k], [1, 0, 0], [1, B, 1]);
              loss = tf.add(loss, tf.mul(weights[k], tf.mean(r)));
            });
            return loss as tf.Scalar;
          }),
      }, this.variables);
      return {
        loss: res.value,
        count: B,
        grads: res.grads,
        forward: res.forward,
        backward: res.backward,
      };
    } finally {
      if (probes !== given) probes.dispose();
    }
  }

  /**
   * The flow of points `z` `[B, D]` under `dz/dt = f` from `ts[0]` through the other times
   * (decreasing times run it backwards: from `T` to 0 is the generative direction), as
   * `[times, B, D]`.
   */
  async flow(
    z: tf.Tensor2D,
    ts: number[],
    options: CnfSolveOptions = {},
  ): Promise<{ ys: tf.Tensor3D; stats: SolveStats }> {
    this.#checkData(z, "z");
    const sol = await odeint(
      (t: number, y: tf.Tensor) => this.velocity.value(t, y as tf.Tensor2D),
      z,
      ts,
      solverOptions(options),
    );
    return { ys: sol.ys as unknown as tf.Tensor3D, stats: sol.stats };
  }

  /**
   * `n` samples `[n, D]`: base draws `z(T) ~ N(0, I)` from the flow's seeded generator (or the
   * given ones), solved back to `t = 0`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import * as tf from "@tensorflow/tfjs";
   * import { Cnf, TimeMlp } from "@fasterode/fasterode/models/cnf";
   * const cnf = new Cnf(new TimeMlp({ dim: 2, hidden: [8] }));
   * const x = await cnf.sample(5);
   * assert.deepEqual(x.shape, [5, 2]);
   * x.dispose();
   * cnf.dispose();
   * ```
   */
  async sample(n: number | tf.Tensor2D, options: CnfSolveOptions = {}): Promise<tf.Tensor2D> {
    const D = this.velocity.dim;
    const z = typeof n === "number" ? this.baseSamples(n) : n;
    try {
      const { ys } = await this.flow(z, [this.time, 0], options);
      const x = tf.tidy(() => tf.reshape(tf.slice(ys, [1, 0, 0], [1, -1, D]), [-1, D]));
      ys.dispose();
      return x as tf.Tensor2D;
    } finally {
      if (z !== n) z.dispose();
    }
  }

  /** `n` draws `[n, D]` of the base distribution `N(0, I)` from the flow's seeded generator. */
  baseSamples(n: number): tf.Tensor2D {
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(`Cnf: the number of samples must be an integer >= 1, got ${n}`);
    }
    const D = this.velocity.dim;
    return tf.tensor2d(normalSamples(n * D, this.#random), [n, D]);
  }

  #checkData(x: tf.Tensor, what: string): void {
    if (x.rank !== 2 || x.shape[1] !== this.velocity.dim) {
      throw new RangeError(
        `Cnf: ${what} must be [batch, ${this.velocity.dim}], got [${x.shape}]`,
      );
    }
  }

  /** Frees the velocity field's weights. */
  dispose(): void {
    tf.dispose(this.variables);
  }
}

/** Checks the option names and drops the omitted ones (the solver fills in the defaults). */
function solverOptions(options: CnfSolveOptions): CnfSolveOptions {
  rejectUnknownKeys("Cnf solve", options, SOLVE_KEYS, " (and adjoint, logDet, probes in step)");
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

/**
 * Bits per dimension of a mean negative log-likelihood `nll` (nats per example) of data in
 * `[0, 1]^dims` dequantised from 256 levels: `(nll / dims + ln 256) / ln 2` (FFJORD's).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bitsPerDim } from "@fasterode/fasterode/models/cnf";
 * // A uniform density on [0, 1]^D (nll 0) costs the full 8 bits per pixel.
 * assert.equal(bitsPerDim(0, 784), 8);
 * ```
 */
export function bitsPerDim(nll: number, dims: number): number {
  return (nll / dims + Math.log(256)) / Math.LN2;
}
