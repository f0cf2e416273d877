/**
 * The velocity field of a continuous normalising flow, `dz/dt = f(t, z)`: a time-conditioned
 * MLP ({@link TimeMlp}) made of FFJORD's concatsquash layers or of plain time-concatenated
 * layers, that computes with its value the Jacobian–vector products `(∂f/∂z)·v` for a set of
 * probe vectors `v` in the same pass (forward mode, written out layer by layer). The divergence
 * `tr(∂f/∂z)` of the flow is read off those products: exactly with the `D` basis vectors as
 * probes, or by Hutchinson's estimator with one random probe (`cnf.ts`).
 *
 * The products are plain tfjs operations, so the tape differentiates them like any other: the
 * adjoint's backward solve gets the gradient of the divergence (a second derivative of `f`)
 * from them without a nested tape.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** A velocity field that also returns its Jacobian–vector products. */
export interface CnfVelocity {
  /** The dimension `D` of `z`. */
  readonly dim: number;
  /** The trainable weights. */
  readonly variables: tf.Variable[];
  /** `f(t, z)` for `z` `[B, D]`. */
  value(t: number, z: tf.Tensor2D): tf.Tensor2D;
  /**
   * `f(t, z)` `[B, D]` and `(∂f/∂z)·v` `[B, K, D]` for `K` probes per example, `v` `[B, K, D]`.
   */
  jvp(t: number, z: tf.Tensor2D, v: tf.Tensor3D): { value: tf.Tensor2D; jv: tf.Tensor3D };
}

/** The layer kinds of {@link TimeMlp}. */
export type CnfLayerKind = "concatsquash" | "concat";

/** The hidden nonlinearities of {@link TimeMlp}. */
export type CnfActivation = "tanh" | "softplus";

/** Options of {@link TimeMlp}. */
export interface TimeMlpOptions {
  /** Dimension `D` of the data. */
  dim: number;
  /** Hidden widths (default `[64, 64, 64]`, FFJORD's toy network). */
  hidden?: number[];
  /**
   * `"concatsquash"` (default; FFJORD's `(W·h + b)·σ(w_g·t + b_g) + w_b·t`) or `"concat"`
   * (`W·[h, t] + b`).
   */
  layer?: CnfLayerKind;
  /** Hidden nonlinearity (default `"tanh"`, FFJORD's toy default; `"softplus"` for images). */
  activation?: CnfActivation;
  /** Seed of the weight initialisation (default 0). */
  seed?: number;
  /** Prefix of the variables' names (default `"cnf"`; distinct models need distinct ones). */
  name?: string;
}

/** One layer's weights. */
interface Layer {
  /** `[in, out]`. */
  W: tf.Variable;
  /** `[out]`. */
  b: tf.Variable;
  /** Time weights `[1, out]`: the gate's (concatsquash) or the time column's (concat). */
  wt: tf.Variable;
  /** Concatsquash only: the gate's bias `[out]` and the hyper-bias `[1, out]`. */
  bg?: tf.Variable;
  wb?: tf.Variable;
}

let instances = 0;

/**
 * A time-conditioned MLP `f(t, z)` with its Jacobian–vector products, initialised as
 * `torch.nn.Linear` (`U(±1/√fan_in)`) from `seed`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { TimeMlp } from "@fasterode/fasterode/models/cnf";
 * const f = new TimeMlp({ dim: 2, hidden: [8] });
 * const z = tf.tensor2d([[0.5, -1]]);
 * const { value, jv } = f.jvp(0.3, z, tf.tensor3d([[[1, 0], [0, 1]]]));
 * assert.deepEqual(jv.shape, [1, 2, 2]);
 * // The value is the plain field's.
 * assert.ok(tf.max(tf.abs(tf.sub(value, f.value(0.3, z)))).dataSync()[0] < 1e-6);
 * f.dispose();
 * ```
 */
export class TimeMlp implements CnfVelocity {
  /** The dimension of `z`. */
  readonly dim: number;
  /** The trainable weights. */
  readonly variables: tf.Variable[];
  /** The layer kind. */
  readonly layer: CnfLayerKind;
  /** The hidden nonlinearity. */
  readonly activation: CnfActivation;
  readonly #layers: Layer[];

  /** A fresh network; throws a `RangeError` naming a bad size. */
  constructor(options: TimeMlpOptions) {
    const { dim, hidden = [64, 64, 64], layer = "concatsquash", activation = "tanh" } = options;
    const seed = options.seed ?? 0;
    if (!Number.isInteger(dim) || dim < 1) {
      throw new RangeError(`TimeMlp: dim must be an integer >= 1, got ${dim}`);
    }
    if (hidden.some((h) => !Number.isInteger(h) || h < 1)) {
      throw new RangeError(`TimeMlp: hidden widths must be integers >= 1, got [${hidden}]`);
    }
    if (layer !== "concatsquash" && layer !== "concat") {
      throw new RangeError(`TimeMlp: layer must be "concatsquash" or "concat", got "${layer}"`);
    }
    if (activation !== "tanh" && activation !== "softplus") {
      throw new RangeError(`TimeMlp: activation must be "tanh" or "softplus", got "${activation}"`);
    }
    this.dim = dim;
    this.layer = layer;
    this.activation = activation;
    const prefix = `${options.name ?? "cnf"}_${instances++}`;
    const widths = [dim, ...hidden, dim];
    let s = 0;
    const init = (shape: number[], fanIn: number, name: string) => {
      const bound = 1 / Math.sqrt(fanIn);
      const k = s++;
      return tf.tidy(() =>
        tf.variable(
          tf.randomUniform(shape, -bound, bound, "float32", seed * 1000 + k),
          true,
          `${prefix}_${name}`,
        )
      );
    };
    this.#layers = widths.slice(1).map((out, i) => {
      const inn = widths[i];
      if (layer === "concat") {
        // torch.nn.Linear(in + 1, out): the time column shares the fan-in.
        return {
          W: init([inn, out], inn + 1, `l${i}_W`),
          wt: init([1, out], inn + 1, `l${i}_wt`),
          b: init([out], inn + 1, `l${i}_b`),
        };
      }
      // ConcatSquashLinear: Linear(in, out), hyper_gate Linear(1, out), hyper_bias Linear(1, out,
      // bias=False).
      return {
        W: init([inn, out], inn, `l${i}_W`),
        b: init([out], inn, `l${i}_b`),
        wt: init([1, out], 1, `l${i}_wg`),
        bg: init([out], 1, `l${i}_bg`),
        wb: init([1, out], 1, `l${i}_wb`),
      };
    });
    this.variables = this.#layers.flatMap((l) =>
      [l.W, l.b, l.wt, l.bg, l.wb].filter((v): v is tf.Variable => v !== undefined)
    );
  }

  /** Number of trainable scalars. */
  get parameterCount(): number {
    return this.variables.reduce((n, v) => n + v.size, 0);
  }

  /** `f(t, z)` for `z` `[B, D]`. */
  value(t: number, z: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.#run(t, z, null).value);
  }

  /** `f(t, z)` and `(∂f/∂z)·v` for probes `v` `[B, K, D]`. */
  jvp(t: number, z: tf.Tensor2D, v: tf.Tensor3D): { value: tf.Tensor2D; jv: tf.Tensor3D } {
    const [B, K, D] = v.shape;
    if (D !== this.dim || B !== z.shape[0]) {
      throw new RangeError(
        `TimeMlp.jvp: probes must be [${z.shape[0]}, K, ${this.dim}], got [${v.shape}]`,
      );
    }
    return tf.tidy(() => {
      const r = this.#run(t, z, tf.reshape(v, [B * K, D]) as tf.Tensor2D);
      return { value: r.value, jv: tf.reshape(r.jv!, [B, K, this.dim]) as tf.Tensor3D };
    });
  }

  /** The forward pass; with tangents `v` `[B·K, D]` (rows grouped by example), also `J·v`. */
  #run(
    t: number,
    z: tf.Tensor2D,
    v: tf.Tensor2D | null,
  ): { value: tf.Tensor2D; jv: tf.Tensor2D | null } {
    const tt = tf.scalar(t);
    const B = z.shape[0];
    const K = v === null ? 0 : v.shape[0] / B;
    let h: tf.Tensor2D = z;
    let dh: tf.Tensor2D | null = v;
    const last = this.#layers.length - 1;
    this.#layers.forEach((l, i) => {
      let pre: tf.Tensor2D;
      let dpre: tf.Tensor2D | null = dh === null ? null : tf.matMul(dh, l.W);
      if (this.layer === "concat") {
        pre = tf.add(tf.add(tf.matMul(h, l.W), tf.mul(l.wt, tt)), l.b) as tf.Tensor2D;
      } else {
        const gate = tf.sigmoid(tf.add(tf.mul(l.wt, tt), l.bg!)); // [1, out]
        pre = tf.add(
          tf.mul(tf.add(tf.matMul(h, l.W), l.b), gate),
          tf.mul(l.wb!, tt),
        ) as tf.Tensor2D;
        if (dpre !== null) dpre = tf.mul(dpre, gate) as tf.Tensor2D;
      }
      if (i === last) {
        h = pre;
        dh = dpre;
        return;
      }
      if (this.activation === "tanh") {
        h = tf.tanh(pre);
        if (dpre !== null) {
          const slope = tf.sub(1, tf.square(h)) as tf.Tensor2D; // tanh' = 1 − tanh²
          dpre = repeatRows(slope, K, dpre);
        }
      } else {
        h = tf.softplus(pre);
        if (dpre !== null) dpre = repeatRows(tf.sigmoid(pre) as tf.Tensor2D, K, dpre); // softplus' = σ
      }
      dh = dpre;
    });
    return { value: h, jv: dh };
  }

  /** Frees the weights. */
  dispose(): void {
    tf.dispose(this.variables);
  }
}

/** `d ⊙ s` with each row of `s` `[B, n]` applied to its example's `K` rows of `d` `[B·K, n]`. */
function repeatRows(s: tf.Tensor2D, K: number, d: tf.Tensor2D): tf.Tensor2D {
  const [B, n] = s.shape;
  if (K === 1) return tf.mul(d, s);
  return tf.reshape(
    tf.mul(tf.reshape(d, [B, K, n]), tf.reshape(s, [B, 1, n])),
    [B * K, n],
  ) as tf.Tensor2D;
}
