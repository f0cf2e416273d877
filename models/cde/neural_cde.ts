/**
 * The Neural CDE classifier of the paper's Speech Commands experiment (`models/cde.py`):
 *
 * ```
 * z0   = Linear(input → hidden)(X(t0))
 * f(z) = tanh(Linear(hh → hidden·input)(ReLU(Linear(hh → hh)(… ReLU(Linear(hidden → hh)(z))))))
 *        reshaped to [batch, hidden, input]      (layers − 1 hidden hh → hh layers)
 * dz   = f(z) dX,  solved from t0 to T with ts = [t0, T] (adjoint, dopri5)
 * out  = Linear(hidden → classes)(z(T)),   loss = cross-entropy, plus the number correct
 * ```
 *
 * The vector field `f` is an `mlpField` (`NeuralCDE.field`) with its hand-written VJP, which
 * `cdeint` turns into the VJP of `f(z)·dX/dt` (models/cde/cde_field.ts): the adjoint's backward
 * solve runs no gradient tape (`vjp: "tape"` in `lossAndGrads` runs it through the tape).
 *
 * Weights are `tf.Variable`s named `<name>/initial/W`, `<name>/field/0/W`, …, `<name>/readout/b`,
 * initialised like `torch.nn.Linear` (uniform in ±1/√fan_in, weights and biases) from a seeded
 * generator. A linear layer computes `x·W + b` with `W: [in, out]`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  type AdjointOptions,
  adjointValueAndGrads,
  type MethodName,
  mlpField,
  rejectUnknownKeys,
  type SolveStats,
  type VjpField,
} from "../../mod.ts";
import { seededRandom } from "../data/random.ts";
import type { StepResult } from "../step.ts";
import { cdeint } from "./cdeint.ts";
import type { Interpolation } from "./control_path.ts";

/** Sizes, seed and name of a {@link NeuralCDE}; every field is optional (the paper's values). */
export interface NeuralCDEOptions {
  /** Channels of the control path, time included (default 21: time + 20 MFCCs). */
  inputChannels?: number;
  /** Size of the hidden state `z` (default 90). */
  hiddenChannels?: number;
  /** Width of the vector field's hidden layers (default 40). */
  hiddenHiddenChannels?: number;
  /** Hidden layers of the vector field MLP (default 4: one `hidden → hh`, three `hh → hh`). */
  numHiddenLayers?: number;
  /** Output classes (default 10). */
  classes?: number;
  /** Seed of the weight initialisation (default 0). */
  seed?: number;
  /** Prefix of the variable names (default `neuralcde<n>`, unique in the process). */
  name?: string;
}

/**
 * Solver settings of a {@link NeuralCDE} pass; every field is optional, and omitted tolerances
 * are the library's `DEFAULT_TOLERANCES` (rtol 1e-4, atol 1e-6: torchcde's).
 */
export interface NeuralCDESolveOptions {
  /** Relative tolerance (of the backward solve too, unless `adjoint` sets its own). */
  rtol?: number;
  /** Absolute tolerance (of the backward solve too, unless `adjoint` sets its own). */
  atol?: number;
  /** Runge–Kutta method (default `"dopri5"`). */
  method?: MethodName;
  /**
   * Record the time of every evaluation and accepted/rejected step (default false): of the
   * forward solve and, in a training step, of the backward one.
   */
  record?: boolean;
  /**
   * Times to step exactly onto; default `X.jumpTimes` (every knot for linear interpolation),
   * as the paper's `grid_points`.
   */
  jumpT?: number[];
}

/** Options of {@link NeuralCDE.lossAndGrads}: the solve's, and the backward solve's. */
export interface NeuralCDEStepOptions extends NeuralCDESolveOptions {
  /**
   * Where the backward solve gets the vector field's vector–Jacobian products: `"hand"` (the
   * default) from the field's hand-written VJP (`mlpField`'s, through `withCdeVjp`), `"tape"`
   * from tfjs's gradient tape (the general path; the same gradients to float32 rounding, for
   * comparison).
   */
  vjp?: "hand" | "tape";
  /**
   * Backward-solve options, handed to `cdeint` (and `odeintAdjoint`) as they are: the norm
   * (`{ norm: "seminorm" }`, the paper's), tolerances, …; each defaults to the forward one, the
   * norm to `"default"`.
   */
  adjoint?: AdjointOptions;
}

/** Loss and accuracy count of a forward-only pass. */
export interface NeuralCDEEvaluation {
  /** Mean cross-entropy over the batch. */
  loss: number;
  /** Correctly classified examples. */
  correct: number;
  /** Examples in the batch. */
  count: number;
  /** Forward-solve statistics. */
  forward: SolveStats;
}

/** A dense layer `x·W + b`. */
interface Dense {
  W: tf.Variable;
  b: tf.Variable;
}

let modelCount = 0;

/** The option names of the {@link NeuralCDE} constructor. */
const MODEL_OPTION_KEYS: readonly string[] = [
  "inputChannels",
  "hiddenChannels",
  "hiddenHiddenChannels",
  "numHiddenLayers",
  "classes",
  "seed",
  "name",
];

/** The solve option names of `predict`, `evaluate` and `lossAndGrads`. */
const SOLVE_OPTION_KEYS: readonly string[] = ["rtol", "atol", "method", "record", "jumpT"];

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`${name} must be an integer ≥ 1; got ${v}`);
  }
  return v;
}

/** `torch.nn.Linear`'s default initialisation: W and b uniform in ±1/√fan_in. */
function dense(rng: () => number, fanIn: number, fanOut: number, name: string): Dense {
  const bound = 1 / Math.sqrt(fanIn);
  const draw = (n: number) => Float32Array.from({ length: n }, () => (2 * rng() - 1) * bound);
  const W = draw(fanIn * fanOut);
  const b = draw(fanOut);
  return tf.tidy(() => ({
    W: tf.variable(tf.tensor2d(W, [fanIn, fanOut]), true, `${name}/W`),
    b: tf.variable(tf.tensor1d(b), true, `${name}/b`),
  }));
}

function apply(layer: Dense, x: tf.Tensor): tf.Tensor2D {
  return tf.add(tf.matMul(x as tf.Tensor2D, layer.W as tf.Tensor2D), layer.b) as tf.Tensor2D;
}

/**
 * Integer class labels `[batch]` as an int32 tensor (a new one), checked against `classes`
 * (a tensor with one host read): a label outside `[0, classes − 1]` or not an integer throws,
 * naming the labels, the first bad one and its position.
 */
async function labelTensor(
  labels: tf.Tensor | ArrayLike<number>,
  batch: number,
  classes: number,
): Promise<tf.Tensor1D> {
  if (labels instanceof tf.Tensor && (labels.rank !== 1 || labels.shape[0] !== batch)) {
    throw new RangeError(`labels must have shape [${batch}]; got [${labels.shape}]`);
  }
  const values = labels instanceof tf.Tensor ? await labels.data() : Array.from(labels);
  if (values.length !== batch) {
    throw new RangeError(`labels must hold ${batch} class indices; got ${values.length}`);
  }
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= classes) {
      throw new RangeError(
        `labels must be integers in [0, ${classes - 1}] (the model has ${classes} classes); ` +
          `labels[${i}] is ${v}`,
      );
    }
  }
  return tf.tensor1d(Array.from(values as ArrayLike<number>), "int32");
}

/** Mean cross-entropy of `logits` `[batch, classes]` against integer `labels` `[batch]`. */
function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, classes: number): tf.Scalar {
  return tf.tidy(() => {
    const oneHot = tf.oneHot(labels, classes);
    return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
  });
}

/** Number of rows whose argmax equals the label. */
function correctCount(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), "int32")));
}

/**
 * The paper's Neural CDE classifier (see the module documentation). `lossAndGrads` computes a
 * training step's loss, #correct and gradients with the adjoint method; `predict` and
 * `evaluate` solve forward only.
 *
 * @example A tiny model on two paths
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { NeuralCDE, linearInterpolation } from "@fasterode/fasterode/models/cde";
 * const model = new NeuralCDE({
 *   inputChannels: 2, hiddenChannels: 4, hiddenHiddenChannels: 8, numHiddenLayers: 2, classes: 3,
 * });
 * const x = tf.tensor3d([
 *   [[0, 0], [1, 0.5], [2, 0.2]],
 *   [[0, 1], [1, 0.1], [2, -1]],
 * ]);
 * const X = await linearInterpolation(x);
 * const step = await model.lossAndGrads(X, [0, 2], { adjoint: { norm: "seminorm" } });
 * assert.ok(step.loss > 0 && step.count === 2);
 * assert.equal(Object.keys(step.grads).length, model.variables.length);
 * tf.train.sgd(1e-2).applyGradients(step.grads);
 * const logits = await model.predict(X);
 * assert.deepEqual(logits.shape, [2, 3]);
 * tf.dispose([x, logits, step.grads]);
 * X.dispose();
 * model.dispose();
 * ```
 */
export class NeuralCDE {
  /** Every weight: initial layer, vector field layers, readout (W then b per layer). */
  readonly variables: tf.Variable[];
  /** The vector field's weights only: the adjoint solve's parameters. */
  readonly fieldVariables: tf.Variable[];
  /** Prefix of the variable names. */
  readonly name: string;
  /** Channels of the control path. */
  readonly inputChannels: number;
  /** Size of the hidden state. */
  readonly hiddenChannels: number;
  /** Output classes. */
  readonly classes: number;
  /**
   * The matrix field `g(z)` (`[batch, hidden]` → `[batch, hidden, input]`, see
   * {@link NeuralCDE.vectorField}) as an `mlpField` with its hand-written VJP; its `params` are
   * {@link NeuralCDE.fieldVariables}. `cdeint` uses the VJP in the adjoint's backward solve.
   */
  readonly field: VjpField<tf.Tensor>;
  #initial: Dense;
  #field: Dense[];
  #readout: Dense;

  /**
   * Creates the weights; throws for an unknown option (naming it and the valid ones), bad
   * sizes or a name whose variables already exist.
   */
  constructor(options: NeuralCDEOptions = {}) {
    rejectUnknownKeys("NeuralCDE", options, MODEL_OPTION_KEYS);
    const input = positiveInt("inputChannels", options.inputChannels ?? 21);
    const hidden = positiveInt("hiddenChannels", options.hiddenChannels ?? 90);
    const hh = positiveInt("hiddenHiddenChannels", options.hiddenHiddenChannels ?? 40);
    const layers = positiveInt("numHiddenLayers", options.numHiddenLayers ?? 4);
    const classes = positiveInt("classes", options.classes ?? 10);
    this.name = options.name ?? `neuralcde${modelCount++}`;
    const taken = Object.keys(tf.engine().registeredVariables)
      .some((n) => n.startsWith(`${this.name}/`));
    if (taken) {
      throw new Error(
        `variables named "${this.name}/…" already exist: give each NeuralCDE a distinct name, ` +
          `or dispose() the old one`,
      );
    }
    this.inputChannels = input;
    this.hiddenChannels = hidden;
    this.classes = classes;
    const rng = seededRandom(options.seed ?? 0);
    this.#initial = dense(rng, input, hidden, `${this.name}/initial`);
    const sizes = [hidden, ...Array(layers).fill(hh), hidden * input];
    this.#field = sizes.slice(1).map((out, i) =>
      dense(rng, sizes[i], out, `${this.name}/field/${i}`)
    );
    this.#readout = dense(rng, hidden, classes, `${this.name}/readout`);
    this.fieldVariables = this.#field.flatMap((l) => [l.W, l.b]);
    this.field = mlpField(this.#field.map((l) => ({ kernel: l.W, bias: l.b })), {
      activation: "relu",
      finalActivation: "tanh",
      outputShape: [hidden, input],
    });
    this.variables = [
      this.#initial.W,
      this.#initial.b,
      ...this.fieldVariables,
      this.#readout.W,
      this.#readout.b,
    ];
  }

  /** Number of scalar weights (88,940 at the paper's sizes). */
  get parameterCount(): number {
    return this.variables.reduce((n, v) => n + v.size, 0);
  }

  /** Frees the weights. */
  dispose(): void {
    tf.dispose(this.variables);
  }

  /** `z0 = Linear(input → hidden)(X(t0))`: `[batch, hidden]`. */
  initialState(X: Interpolation): tf.Tensor2D {
    this.#checkControl(X);
    return tf.tidy(() => apply(this.#initial, X.evaluate(X.t0)));
  }

  /**
   * The CDE vector field `f(z)`: `[batch, hidden]` → `[batch, hidden, input]` (ignores `t`), the
   * value of {@link NeuralCDE.field}, as a plain function (its gradients go through the tape).
   */
  vectorField(t: number, z: tf.Tensor): tf.Tensor3D {
    return tf.tidy(() => this.field(t, z)) as tf.Tensor3D;
  }

  /** The logits `Linear(hidden → classes)(zT)`: `[batch, classes]`. */
  readout(zT: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => apply(this.#readout, zT));
  }

  /**
   * Loss, number correct and gradients of every variable for a batch: the control `X` (an
   * interpolation of the batch's data, time channel included) and integer `labels` `[batch]`.
   * Solves from `X.t0` to `X.t1` with `cdeint` (adjoint, with `options.adjoint` as its backward
   * options; the field's VJPs are its hand-written ones unless `vjp: "tape"`) and
   * differentiates the encoder and readout with tfjs. Returns the training
   * harness's step result as it is; the caller disposes `grads`.
   */
  async lossAndGrads(
    X: Interpolation,
    labels: tf.Tensor | ArrayLike<number>,
    options: NeuralCDEStepOptions = {},
  ): Promise<StepResult & { correct: number }> {
    this.#checkControl(X);
    const { adjoint = {}, vjp = "hand", ...solve } = options;
    const solver = this.#solverOptions(solve);
    if (vjp !== "hand" && vjp !== "tape") {
      throw new TypeError(`NeuralCDE option vjp must be "hand" or "tape"; got ${String(vjp)}`);
    }
    const f = vjp === "hand" ? this.field : (t: number, z: tf.Tensor) => this.vectorField(t, z);
    const labelT = await labelTensor(labels, X.batch, this.classes);
    const logitsAtT = (zs: tf.Tensor) =>
      this.readout(tf.squeeze(tf.slice(zs, [1, 0, 0], [1, -1, -1]), [0]));
    try {
      const res = await adjointValueAndGrads<tf.Tensor>({
        before: () => this.initialState(X),
        solve: (z0) =>
          cdeint(X, f, z0, [X.t0, X.t1], {
            ...solver,
            params: this.fieldVariables,
            adjoint,
          }),
        after: (zs) => crossEntropy(logitsAtT(zs), labelT, this.classes),
        aux: (zs) => ({ correct: correctCount(logitsAtT(zs), labelT) }),
      }, this.variables);
      return {
        loss: res.value,
        correct: res.aux.correct,
        count: X.batch,
        grads: res.grads,
        forward: res.forward,
        backward: res.backward,
      };
    } finally {
      labelT.dispose();
    }
  }

  /** The logits `[batch, classes]` for the control `X` (forward solve only). */
  async predict(X: Interpolation, options: NeuralCDESolveOptions = {}): Promise<tf.Tensor2D> {
    return (await this.#forward(X, options)).logits;
  }

  /** Loss and number correct without gradients (forward solve only). */
  async evaluate(
    X: Interpolation,
    labels: tf.Tensor | ArrayLike<number>,
    options: NeuralCDESolveOptions = {},
  ): Promise<NeuralCDEEvaluation> {
    this.#checkControl(X);
    const labelT = await labelTensor(labels, X.batch, this.classes);
    const toDispose: tf.Tensor[] = [labelT];
    try {
      const { logits, stats } = await this.#forward(X, options);
      toDispose.push(logits);
      const loss = crossEntropy(logits, labelT, this.classes);
      const correct = correctCount(logits, labelT);
      toDispose.push(loss, correct);
      return {
        loss: (await loss.data())[0],
        correct: (await correct.data())[0],
        count: X.batch,
        forward: stats,
      };
    } finally {
      tf.dispose(toDispose);
    }
  }

  async #forward(
    X: Interpolation,
    options: NeuralCDESolveOptions,
  ): Promise<{ logits: tf.Tensor2D; stats: SolveStats }> {
    this.#checkControl(X);
    const solver = this.#solverOptions(options);
    const z0 = this.initialState(X);
    try {
      const sol = await cdeint(X, (t, z) => this.vectorField(t, z), z0, [X.t0, X.t1], {
        ...solver,
        adjoint: false,
      });
      const logits = tf.tidy(() =>
        this.readout(tf.squeeze(tf.slice(sol.ys, [1, 0, 0], [1, -1, -1]), [0]))
      );
      sol.ys.dispose();
      return { logits, stats: sol.stats };
    } finally {
      z0.dispose();
    }
  }

  /** Checks the option names and drops the omitted ones (the solver fills in the defaults). */
  #solverOptions(options: NeuralCDESolveOptions): NeuralCDESolveOptions {
    rejectUnknownKeys(
      "NeuralCDE",
      options,
      SOLVE_OPTION_KEYS,
      " (and adjoint, vjp in lossAndGrads)",
    );
    return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  }

  #checkControl(X: Interpolation): void {
    if (X === null || typeof X !== "object" || typeof X.evaluate !== "function") {
      throw new TypeError("X must be an Interpolation of the batch (e.g. linearInterpolation)");
    }
    if (X.channels !== this.inputChannels) {
      throw new RangeError(
        `X has ${X.channels} channels but the model expects inputChannels = ${this.inputChannels}`,
      );
    }
  }
}
