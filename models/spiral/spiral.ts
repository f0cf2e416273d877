/**
 * The spiral benchmark of neural ODEs (torchdiffeq's `ode_demo`): data from the cubic system
 * `dy/dt = y³·A`, `A = [[−0.1, 2], [−2, −0.1]]`, `y(0) = (2, 0)`, and a neural ODE
 * `dy/dt = MLP(y³)` fitted to random short segments of it with the adjoint method.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  type AdjointOptions,
  adjointValueAndGrads,
  odeint,
  odeintAdjoint,
  rejectUnknownKeys,
} from "../../mod.ts";
import type { StepResult } from "../step.ts";

/** The true trajectory, sampled at `n` equally spaced times on `[0, tEnd]`. */
export interface SpiralData {
  /** Sample times. */
  ts: number[];
  /** States `[n, 2]`. */
  ys: tf.Tensor2D;
}

/**
 * Solves the true spiral `dy/dt = y³·A` from `(2, 0)` at tight tolerance.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { spiralData } from "@fasterode/fasterode/models/spiral";
 * const data = await spiralData(100, 5);
 * assert.deepEqual(data.ys.shape, [100, 2]);
 * data.ys.dispose();
 * ```
 */
export async function spiralData(n = 1000, tEnd = 25): Promise<SpiralData> {
  const ts = Array.from({ length: n }, (_, i) => (tEnd * i) / (n - 1));
  const A = tf.tensor2d([[-0.1, 2], [-2, -0.1]]);
  const y0 = tf.tensor2d([[2, 0]]);
  try {
    const sol = await odeint((_t, y) => tf.matMul(tf.pow(y, 3) as tf.Tensor2D, A), y0, ts, {
      rtol: 1e-7,
      atol: 1e-9,
    });
    const ys = tf.tidy(() => tf.reshape(sol.ys, [n, 2]) as tf.Tensor2D);
    sol.ys.dispose();
    return { ts, ys };
  } finally {
    tf.dispose([A, y0]);
  }
}

/** Options of {@link SpiralODE}. */
export interface SpiralODEOptions {
  /** Hidden width of the MLP (default 128: the adjoint state is then mostly parameters). */
  width?: number;
  /** Seed of the weight initialisation (default 0). */
  seed?: number;
}

/**
 * Solver settings of {@link SpiralODE.loss} and {@link SpiralODE.lossAndGrads}; omitted
 * tolerances are the library's `DEFAULT_TOLERANCES` (the demo sets its own).
 */
export interface SpiralSolveOptions {
  /** Relative tolerance (of the backward solve too, unless `adjoint` sets its own). */
  rtol?: number;
  /** Absolute tolerance (of the backward solve too, unless `adjoint` sets its own). */
  atol?: number;
  /**
   * Record the time of every evaluation and step (default false): of the forward solve and, in
   * a training step, of the backward one.
   */
  record?: boolean;
}

/** Options of {@link SpiralODE.lossAndGrads}: the solve's, and the backward solve's. */
export interface SpiralStepOptions extends SpiralSolveOptions {
  /**
   * Backward-solve options, handed to `odeintAdjoint` as they are: the norm
   * (`{ norm: "seminorm" }`), tolerances, …; each defaults to the forward one, the norm to
   * `"default"`.
   */
  adjoint?: AdjointOptions;
}

/** A neural ODE `dy/dt = W2·tanh(W1·y³ + b1) + b2` for the spiral. */
export class SpiralODE {
  /** The trainable weights. */
  readonly variables: tf.Variable[];
  readonly #W1: tf.Variable;
  readonly #b1: tf.Variable;
  readonly #W2: tf.Variable;
  readonly #b2: tf.Variable;

  /** A fresh field of the given width, initialised as torch.nn.Linear does, from `seed`. */
  constructor(options: SpiralODEOptions = {}) {
    const { width = 128, seed = 0 } = options;
    // torch.nn.Linear's initialisation: U(±1/√fan_in) for weights and biases.
    const init = (shape: number[], fanIn: number, s: number) => {
      const bound = 1 / Math.sqrt(fanIn);
      return tf.tidy(() =>
        tf.variable(tf.randomUniform(shape, -bound, bound, "float32", seed * 10 + s))
      );
    };
    this.#W1 = init([2, width], 2, 1);
    this.#b1 = init([width], 2, 2);
    this.#W2 = init([width, 2], width, 3);
    this.#b2 = init([2], width, 4);
    this.variables = [this.#W1, this.#b1, this.#W2, this.#b2];
  }

  /** The vector field on a batch of states `[batch, 2]`. */
  readonly field = (_t: number, y: tf.Tensor): tf.Tensor =>
    tf.tidy(() => {
      const h = tf.tanh(tf.add(tf.matMul(tf.pow(y, 3) as tf.Tensor2D, this.#W1), this.#b1));
      return tf.add(tf.matMul(h, this.#W2), this.#b2);
    });

  /** Number of trainable scalars. */
  get parameterCount(): number {
    return this.variables.reduce((n, v) => n + v.size, 0);
  }

  /**
   * Loss and its gradients by the adjoint method for a batch of segments: `y0` `[batch, 2]`,
   * `target` `[T, batch, 2]`. The loss is the absolute error summed over a segment's output
   * times and coordinates, averaged over segments. Returns the training harness's step result
   * (`count`: the segments); the caller disposes `grads`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import * as tf from "@tensorflow/tfjs";
   * import { sampleBatch, spiralData, SpiralODE } from "@fasterode/fasterode/models/spiral";
   * const data = await spiralData(100, 5);
   * const b = sampleBatch(data, 4, 10, Math.random, 3);
   * const model = new SpiralODE({ width: 8 });
   * const step = await model.lossAndGrads(b.y0, b.ts, b.target, { adjoint: { norm: "seminorm" } });
   * assert.equal(step.count, 4);
   * assert.ok(step.loss > 0 && step.backward.nfe > 0);
   * tf.dispose([data.ys, b.y0, b.target, step.grads]);
   * model.dispose();
   * ```
   */
  async lossAndGrads(
    y0: tf.Tensor2D,
    ts: number[],
    target: tf.Tensor3D,
    options: SpiralStepOptions = {},
  ): Promise<StepResult> {
    const { adjoint = {}, ...solve } = options;
    const solver = solverOptions(solve);
    const batch = y0.shape[0];
    const res = await adjointValueAndGrads<tf.Tensor>({
      before: () => y0,
      solve: (z0) => odeintAdjoint(this.field, z0, ts, this.variables, { ...solver, adjoint }),
      after: (ys) => tf.div(tf.sum(tf.abs(tf.sub(ys, target))), batch) as tf.Scalar,
    }, this.variables);
    return {
      loss: res.value,
      count: batch,
      grads: res.grads,
      forward: res.forward,
      backward: res.backward,
    };
  }

  /** The same loss without gradients (forward solve only). */
  async loss(
    y0: tf.Tensor2D,
    ts: number[],
    target: tf.Tensor3D,
    options: SpiralSolveOptions = {},
  ): Promise<number> {
    const sol = await odeint(this.field, y0, ts, solverOptions(options));
    const l = tf.tidy(() => tf.div(tf.sum(tf.abs(tf.sub(sol.ys, target))), y0.shape[0]));
    const value = (await l.data())[0];
    tf.dispose([sol.ys, l]);
    return value;
  }

  /** Frees the weights. */
  dispose(): void {
    tf.dispose(this.variables);
  }
}

/** Checks the option names and drops the omitted ones (the solver fills in the defaults). */
function solverOptions(options: SpiralSolveOptions): SpiralSolveOptions {
  const known = ["rtol", "atol", "record"];
  rejectUnknownKeys("SpiralODE", options, known, " (and adjoint in lossAndGrads)");
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

/** A batch of random segments: start states, relative times and targets. */
export interface SpiralBatch {
  /** The segments' start states `[batch, 2]`. */
  y0: tf.Tensor2D;
  /** The output times, from 0. */
  ts: number[];
  /** The true states at those times `[times, batch, 2]`. */
  target: tf.Tensor3D;
}

/**
 * Draws `batch` segments spanning `length` samples, keeping every `stride`-th sample as an
 * output time (start indices from `random`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sampleBatch, spiralData } from "@fasterode/fasterode/models/spiral";
 * const data = await spiralData(100, 5);
 * const b = sampleBatch(data, 4, 10, Math.random);
 * assert.deepEqual(b.target.shape, [10, 4, 2]);
 * data.ys.dispose(); b.y0.dispose(); b.target.dispose();
 * ```
 */
export function sampleBatch(
  data: SpiralData,
  batch: number,
  length: number,
  random: () => number,
  stride = 1,
): SpiralBatch {
  const n = data.ts.length;
  const starts = Array.from({ length: batch }, () => Math.floor(random() * (n - length)));
  const offsets = Array.from({ length: Math.ceil(length / stride) }, (_, k) => k * stride);
  return tf.tidy(() => {
    const idx = tf.tensor1d(starts, "int32");
    const y0 = tf.gather(data.ys, idx) as tf.Tensor2D;
    const steps = offsets.map((k) => tf.gather(data.ys, tf.add(idx, tf.scalar(k, "int32"))));
    const target = tf.stack(steps) as tf.Tensor3D;
    const ts = offsets.map((k) => data.ts[k] - data.ts[0]);
    return { y0, ts, target };
  }) as SpiralBatch;
}
