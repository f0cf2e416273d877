/**
 * AdamW: Adam with decoupled weight decay, as `torch.optim.AdamW` (Loshchilov & Hutter).
 *
 * Each step first shrinks every variable that has a gradient, `p ← p − lr·wd·p`, then applies
 * the usual Adam update with bias correction, `p ← p − lr·m̂/(√v̂ + ε)`. The Adam part is tfjs's
 * own `tf.AdamOptimizer`; this class adds the decay, a settable learning rate (for schedules)
 * and a fixed variable order (tfjs keeps Adam's moments by position, not by name).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Options of {@link AdamW}. */
export interface AdamWOptions {
  /** Learning rate `lr` (> 0). */
  learningRate: number;
  /** Decoupled weight decay `wd` (default 0.01, as PyTorch's AdamW). */
  weightDecay?: number;
  /** Decay rate of the first moment (default 0.9). */
  beta1?: number;
  /** Decay rate of the second moment (default 0.999). */
  beta2?: number;
  /** Added to `√v̂` in the denominator (default 1e-8). */
  epsilon?: number;
}

const OPTION_KEYS = ["learningRate", "weightDecay", "beta1", "beta2", "epsilon"];

function checkRange(name: string, value: number, lo: number, hi: number, loOpen: boolean): void {
  const ok = Number.isFinite(value) && (loOpen ? value > lo : value >= lo) && value < hi;
  if (!ok) {
    throw new RangeError(
      `AdamW: ${name} must be in ${loOpen ? "(" : "["}${lo}, ${hi}), got ${value}`,
    );
  }
}

function resolveOptions(options: AdamWOptions): Required<AdamWOptions> {
  if (options === null || typeof options !== "object") {
    throw new TypeError("AdamW: options must be an object with a learningRate");
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) {
      throw new TypeError(`AdamW: unknown option "${key}" (known: ${OPTION_KEYS.join(", ")})`);
    }
  }
  const { learningRate, weightDecay = 0.01, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8 } = options;
  checkRange("learningRate", learningRate, 0, Infinity, true);
  checkRange("weightDecay", weightDecay, 0, Infinity, false);
  checkRange("beta1", beta1, 0, 1, false);
  checkRange("beta2", beta2, 0, 1, false);
  checkRange("epsilon", epsilon, 0, Infinity, true);
  return { learningRate, weightDecay, beta1, beta2, epsilon };
}

/** What {@link AdamW.getState} returns and {@link AdamW.setState} takes. */
export interface AdamWState {
  /** Steps taken. */
  iterations: number;
  /** `β1^(steps+1)`, as held in float32. */
  accBeta1: number;
  /** `β2^(steps+1)`, as held in float32. */
  accBeta2: number;
  /** The learning rate. */
  lr: number;
  /** First moments, one per variable, in the order of the names given. */
  first: tf.Tensor[];
  /** Second moments, likewise. */
  second: tf.Tensor[];
}

/** tf.AdamOptimizer's private state, which {@link AdamW.getState} reads and restores. */
interface AdamInternals {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
}

/**
 * Adam with decoupled weight decay (PyTorch's `AdamW` semantics), built on `tf.AdamOptimizer`.
 *
 * Pass gradients keyed by variable name, as `tf.variableGrads` or `adjointValueAndGrads` return
 * them. The first call fixes the set of variables; later calls must give the same names (in
 * any order). Change the learning rate between steps with {@link AdamW.lr}; it scales both the
 * decay and the Adam step, as in PyTorch. Call `dispose()` to free the moment estimates.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { AdamW } from "@fasterode/fasterode/experiments";
 *
 * const w = tf.variable(tf.tensor1d([1, -2]), true, "adamw_doc_w");
 * const opt = new AdamW({ learningRate: 0.1, weightDecay: 0.01 });
 * const g = tf.tensor1d([0.5, 0.5]);
 * opt.applyGradients({ adamw_doc_w: g });
 * // First step: decay by lr·wd = 1e-3, then m̂/(√v̂ + ε) = sign(g), so each weight moves by −lr.
 * const [a, b] = await w.data();
 * assert.ok(Math.abs(a - (1 * (1 - 1e-3) - 0.1)) < 1e-6);
 * assert.ok(Math.abs(b - (-2 * (1 - 1e-3) - 0.1)) < 1e-6);
 * opt.lr = 0.01; // e.g. a plateau schedule
 * assert.equal(opt.lr, 0.01);
 * tf.dispose([g, w]);
 * opt.dispose();
 * ```
 */
export class AdamW extends tf.AdamOptimizer {
  /** The decoupled weight decay `wd`. */
  readonly weightDecay: number;
  #names: string[] | undefined;

  /** Creates the optimiser; see {@link AdamWOptions} for the defaults. */
  constructor(options: AdamWOptions) {
    const o = resolveOptions(options);
    super(o.learningRate, o.beta1, o.beta2, o.epsilon);
    this.weightDecay = o.weightDecay;
  }

  /** The current learning rate; set it to change the rate of the following steps. */
  get lr(): number {
    return this.learningRate;
  }

  set lr(value: number) {
    checkRange("lr", value, 0, Infinity, false);
    this.learningRate = value;
  }

  /**
   * The optimiser's state, for a checkpoint: steps taken, the bias-correction products
   * `β1^(t+1)`, `β2^(t+1)` as the optimiser holds them (float32, so a restore is exact, unlike
   * tfjs's `setWeights`, which recomputes them with `pow`), the learning rate, and the first and
   * second moments in the order of `names` (the live tensors: do not dispose them). Before the
   * first step the moments are empty.
   *
   * @example A restored optimiser takes the same next step
   * ```ts
   * import assert from "node:assert/strict";
   * import * as tf from "@tensorflow/tfjs";
   * import { AdamW } from "@fasterode/fasterode/experiments";
   * const w = tf.variable(tf.tensor1d([1, -2]), true, "adamw_state_w");
   * const g = { adamw_state_w: tf.tensor1d([0.3, -0.1]) };
   * const a = new AdamW({ learningRate: 0.1 });
   * a.applyGradients(g);
   * const state = a.getState([w.name]);
   * const b = new AdamW({ learningRate: 0.1 });
   * b.setState(state, [w.name]);
   * const start = w.clone();
   * a.applyGradients(g);
   * const viaA = w.clone();
   * w.assign(start);
   * b.applyGradients(g);
   * assert.deepEqual(Array.from(w.dataSync()), Array.from(viaA.dataSync()));
   * tf.dispose([w, g.adamw_state_w, start, viaA]);
   * a.dispose();
   * b.dispose();
   * ```
   */
  getState(names: string[]): AdamWState {
    const self = this as unknown as AdamInternals;
    const order = this.#names ?? [];
    if (
      order.length > 0 && (names.length !== order.length || names.some((n) => !order.includes(n)))
    ) {
      throw new TypeError(
        `AdamW.getState: names must be the optimised variables [${order.join(", ")}], got ` +
          `[${names.join(", ")}]`,
      );
    }
    const at = (n: string) => order.indexOf(n);
    return {
      iterations: this.iterations_,
      accBeta1: self.accBeta1.dataSync()[0],
      accBeta2: self.accBeta2.dataSync()[0],
      lr: this.learningRate,
      first: order.length === 0
        ? []
        : names.map((n) => self.accumulatedFirstMoment[at(n)].variable),
      second: order.length === 0
        ? []
        : names.map((n) => self.accumulatedSecondMoment[at(n)].variable),
    };
  }

  /**
   * Restores a {@link AdamW.getState} state on a fresh optimiser, for the variables now named
   * `names` (in the state's order; a model rebuilt in another process may name them anew). The
   * moments are copied. See {@link AdamW.getState} for an example.
   */
  setState(state: AdamWState, names: string[]): void {
    const self = this as unknown as AdamInternals;
    if (this.#names !== undefined) {
      throw new TypeError("AdamW.setState: the optimiser has taken steps already; use a fresh one");
    }
    if (state.first.length !== state.second.length) {
      throw new TypeError("AdamW.setState: the first and second moments differ in number");
    }
    if (state.first.length > 0 && state.first.length !== names.length) {
      throw new TypeError(
        `AdamW.setState: the state holds ${state.first.length} moments, names has ${names.length}`,
      );
    }
    this.iterations_ = state.iterations;
    this.lr = state.lr;
    tf.tidy(() => {
      self.accBeta1.assign(tf.scalar(state.accBeta1));
      self.accBeta2.assign(tf.scalar(state.accBeta2));
    });
    if (state.first.length === 0) return;
    this.#names = [...names];
    const copy = (t: tf.Tensor, name: string) => ({
      originalName: name,
      variable: tf.variable(t, false), // a copy of t's values
    });
    self.accumulatedFirstMoment = state.first.map((t, i) => copy(t, `${names[i]}/m`));
    self.accumulatedSecondMoment = state.second.map((t, i) => copy(t, `${names[i]}/v`));
  }

  /**
   * One AdamW step: decays the variables named in `variableGradients`, then applies Adam.
   * Does not dispose the gradients.
   */
  override applyGradients(
    variableGradients: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[],
  ): void {
    const given = Array.isArray(variableGradients)
      ? variableGradients
      : Object.entries(variableGradients).map(([name, tensor]) => ({ name, tensor }));
    const byName = new Map<string, tf.Tensor>();
    for (const { name, tensor } of given) {
      if (byName.has(name)) throw new TypeError(`AdamW: gradient for "${name}" given twice`);
      if (!(tensor instanceof tf.Tensor)) {
        throw new TypeError(`AdamW: the gradient for "${name}" is not a tensor`);
      }
      byName.set(name, tensor);
    }
    if (this.#names === undefined) {
      if (byName.size === 0) throw new TypeError("AdamW: no gradients given");
      this.#names = [...byName.keys()];
    } else {
      const missing = this.#names.filter((n) => !byName.has(n));
      const extra = [...byName.keys()].filter((n) => !this.#names!.includes(n));
      if (missing.length > 0 || extra.length > 0) {
        throw new TypeError(
          "AdamW: every step must update the same variables as the first " +
            `(missing: [${missing.join(", ")}], new: [${extra.join(", ")}])`,
        );
      }
    }
    const registered = tf.engine().registeredVariables;
    const ordered = this.#names.map((name) => {
      const variable = registered[name];
      if (variable === undefined) throw new TypeError(`AdamW: no variable named "${name}"`);
      const tensor = byName.get(name)!;
      if (!tf.util.arraysEqual(tensor.shape, variable.shape)) {
        throw new TypeError(
          `AdamW: gradient for "${name}" has shape [${tensor.shape}], variable [${variable.shape}]`,
        );
      }
      return { name, tensor, variable };
    });
    const keep = 1 - this.learningRate * this.weightDecay;
    if (keep !== 1) {
      tf.tidy(() => {
        for (const { variable } of ordered) variable.assign(tf.mul(variable, keep));
      });
    }
    super.applyGradients(ordered.map(({ name, tensor }) => ({ name, tensor })));
  }
}
