/**
 * `odeintAdjoint`: a solve whose gradients come from the adjoint method.
 *
 * The forward solve records no tape. `backward(dL/dys)` then solves, from the last output time
 * back to the first, the augmented system
 *
 * ```
 * dz/dt   =  f(t, z)
 * da_z/dt = −a_zᵀ ∂f/∂z        a_z(T) = dL/dz(T)
 * da_θ/dt = −a_zᵀ ∂f/∂θ        a_θ(T) = 0,   dL/dθ = a_θ(t0)
 * ```
 *
 * one output interval at a time: at each output time `z` is reset to the forward value and that
 * time's incoming gradient is added to `a_z`. Memory is constant in the number of steps; each
 * backward evaluation costs one evaluation of `f` and one vector–Jacobian product.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { odeint, type OdeSolution, type SolveStats } from "../solvers/odeint.ts";
import { type OdeintOptions, OPTION_KEYS } from "../solvers/options.ts";
import { mixedNorm, rmsNorm } from "../solvers/norms.ts";
import {
  checkLike,
  fromParts,
  layoutOf,
  partsOf,
  type State,
  type VectorField,
} from "../solvers/state.ts";
import { adjointNorm, type AdjointNormSpec } from "./norms.ts";
import { vjp } from "./vjp.ts";

/** Options of the backward solve; each defaults to the forward solve's value. */
export interface AdjointOptions extends Omit<OdeintOptions, "norm" | "onFailure"> {
  /**
   * Norm of the backward error: `"default"` (every channel), `"seminorm"` (parameter adjoints
   * left out: far fewer steps, same accuracy), or a function of `{ y, adjY, adjParams }`.
   */
  norm?: AdjointNormSpec;
}

/** Options of {@link odeintAdjoint}: the forward options, plus `adjoint` for the backward solve. */
export interface OdeintAdjointOptions extends OdeintOptions {
  /** Backward-solve options (method, tolerances, norm, stepT/jumpT, …). */
  adjoint?: AdjointOptions;
}

/** Gradients from {@link AdjointSolution.backward}. */
export interface AdjointGradients<S extends State> {
  /** `dL/dy0`, shaped like `y0`. */
  y0: S;
  /** `dL/dθ` for each tensor of `params`, in the same order. */
  params: tf.Tensor[];
  /** Statistics of the backward solve, summed over the output intervals. */
  stats: SolveStats;
}

/** A forward solution that can be differentiated with the adjoint method. */
export interface AdjointSolution<S extends State> extends OdeSolution<S> {
  /** The parameters the gradients are taken with respect to. */
  params: tf.Tensor[];
  /**
   * Solves the adjoint system backwards. `dLdys` is the loss gradient at every output time,
   * shaped like `ys`. Needs `ys` (not yet disposed); may be called more than once.
   */
  backward(dLdys: S): Promise<AdjointGradients<S>>;
}

/** Backward options: those of the forward solve but `onFailure` (a backward failure throws). */
const ADJOINT_KEYS = OPTION_KEYS.filter((key) => key !== "onFailure");

function emptyStats(record: boolean): SolveStats {
  const stats: SolveStats = { nfe: 0, nAccepted: 0, nRejected: 0 };
  if (record) Object.assign(stats, { evalTs: [], acceptTs: [], rejectTs: [] });
  return stats;
}

/** Adds one interval's statistics to the running total. */
function addStats(total: SolveStats, part: SolveStats): void {
  total.nfe += part.nfe;
  total.nAccepted += part.nAccepted;
  total.nRejected += part.nRejected;
  total.evalTs?.push(...part.evalTs!);
  total.acceptTs?.push(...part.acceptTs!);
  total.rejectTs?.push(...part.rejectTs!);
}

/** Row `i` of each tensor (drops the leading time axis). */
function row(parts: tf.Tensor[], i: number): tf.Tensor[] {
  return parts.map((p) => tf.squeeze(tf.slice(p, i, 1), [0]));
}

/**
 * Solves `dy/dt = f(t, y)` like {@link odeint}, and returns a solution whose `backward` gives
 * `dL/dy0` and `dL/dθ` by the adjoint method.
 *
 * `params` are the tensors (usually `tf.Variable`s) that `f` reads, directly or through a
 * closure; their gradients come back in the same order, zeros for any that `f` does not use.
 * Backward options (`adjoint: { … }`) default to the forward ones; pass
 * `adjoint: { norm: "seminorm" }` for the cheaper backward solve.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import assert from "node:assert/strict";
 * import { odeintAdjoint } from "./odeint_adjoint.ts";
 * // y' = θ·y: y(1) = y0·e^θ, so d y(1)/dθ = y0·e^θ and d y(1)/d y0 = e^θ.
 * const theta = tf.variable(tf.scalar(-0.5));
 * const sol = await odeintAdjoint((_t, y) => tf.mul(theta, y), tf.tensor([2]), [0, 1], [theta], {
 *   rtol: 1e-6,
 *   atol: 1e-8,
 *   adjoint: { norm: "seminorm" },
 * });
 * const g = await sol.backward(tf.tensor([[0], [1]]));  // L = y(1)
 * assert.ok(Math.abs((await g.params[0].data())[0] - 2 * Math.exp(-0.5)) < 1e-4);
 * assert.ok(Math.abs((await g.y0.data())[0] - Math.exp(-0.5)) < 1e-4);
 * console.log(sol.stats.nfe, g.stats.nfe);
 * ```
 */
export async function odeintAdjoint<S extends State>(
  f: VectorField<S>,
  y0: S,
  ts: ArrayLike<number>,
  params: tf.Tensor[],
  options: OdeintAdjointOptions = {},
): Promise<AdjointSolution<S>> {
  const { adjoint = {}, ...forward } = options;
  if (!Array.isArray(params) || params.some((p) => !(p instanceof tf.Tensor))) {
    throw new TypeError("params must be an array of the tf.Tensor/tf.Variable objects f reads");
  }
  if (new Set(params).size !== params.length) throw new TypeError("params lists a tensor twice");
  for (const key of Object.keys(adjoint)) {
    if (!ADJOINT_KEYS.includes(key)) {
      throw new TypeError(`Unknown adjoint option "${key}"; valid: ${ADJOINT_KEYS.join(", ")}`);
    }
  }
  const layout = layoutOf(y0);
  const stateNorm = forward.norm ?? (layout.isTuple ? mixedNorm : rmsNorm);
  const nY = layout.shapes.length;
  const { norm: normSpec = "default", ...backOptions } = adjoint;
  const backward: OdeintOptions = {
    ...forward,
    onFailure: "throw",
    ...backOptions,
    norm: adjointNorm(normSpec, stateNorm, nY),
  };
  if (forward.stepSize !== undefined && backOptions.method !== undefined) {
    // A stepSize belongs to the forward method; do not carry it to a different backward one.
    if (!("stepSize" in backOptions)) delete backward.stepSize;
  }
  const times = Array.from(ts);
  const sol = await odeint(f, y0, times, forward);

  // The augmented dynamics on the tuple [z…, a_z…, a_θ…].
  const augmented = (t: number, aug: tf.Tensor[]): tf.Tensor[] => {
    const z = aug.slice(0, nY);
    const a = aug.slice(nY, 2 * nY);
    const { value, grads } = vjp(
      () => partsOf((f as unknown as VectorField)(t, fromParts(z, layout))),
      [...z, ...params],
      a.map((x) => tf.neg(x)),
    );
    return [...value, ...grads];
  };

  return {
    ...sol,
    params,
    async backward(dLdys: S): Promise<AdjointGradients<S>> {
      if (sol.status !== "success") {
        throw new Error(`backward needs a complete forward solve; it ended with "${sol.status}"`);
      }
      checkLike(dLdys, layout, "dL/dys", [times.length]);
      const ys = partsOf(sol.ys);
      if (ys.some((y) => y.isDisposed)) {
        throw new Error("backward needs sol.ys, which was disposed; dispose it after backward");
      }
      const gs = partsOf(dLdys);
      const stats = emptyStats(backward.record ?? false);
      const last = times.length - 1;
      let z = tf.tidy(() => row(ys, last));
      let a = tf.tidy(() => row(gs, last));
      let aTheta = params.map((p) => tf.zerosLike(p));
      try {
        for (let i = last; i > 0; i--) {
          const seg = await odeint(
            augmented,
            [...z, ...a, ...aTheta],
            [times[i], times[i - 1]],
            backward,
          );
          addStats(stats, seg.stats);
          const end = tf.tidy(() => row(seg.ys, 1));
          tf.dispose([seg.ys, z, a, aTheta]);
          z = tf.tidy(() => row(ys, i - 1)); // reset to the forward solution
          a = tf.tidy(() => {
            const gi = row(gs, i - 1);
            return end.slice(nY, 2 * nY).map((x, k) => tf.add(x, gi[k]));
          });
          aTheta = end.slice(2 * nY);
          tf.dispose(end.slice(0, 2 * nY));
        }
        const y0Grad = fromParts(a, layout) as S;
        const result = { y0: y0Grad, params: aTheta, stats };
        a = [];
        aTheta = [];
        return result;
      } finally {
        tf.dispose([z, a, aTheta]);
      }
    },
  };
}
