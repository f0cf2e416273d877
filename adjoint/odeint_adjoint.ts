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
 * backward evaluation costs one evaluation of `f` and one vector–Jacobian product: the field's
 * own when it has one (`withVjp`, `mlpField`), else tfjs's tape.
 *
 * The augmented state is never packed into one tensor: it is solved as the tuple
 * `[z…, a_z…, a_θ…]`, the minus signs folded into the step's weights, the `a_θ` parts passive
 * (pure quadratures: no stage sums, and under the seminorm no error estimate either), the error
 * norm computed per part and fused.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { odeint, type OdeSolution, runAsync, solve, type SolveStats } from "../solvers/odeint.ts";
import { type OdeintOptions, OPTION_KEYS, type Plan, plan } from "../solvers/options.ts";
import { mixedNorm, rmsNorm } from "../solvers/norms.ts";
import {
  checkLike,
  fromParts,
  layoutOf,
  partsOf,
  type State,
  type StateLayout,
  type VectorField,
} from "../solvers/state.ts";
import { adjointNorm, type AdjointNormSpec } from "./norms.ts";
import { vjp } from "./vjp.ts";
import { isVjpField } from "./vjp_field.ts";

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

/**
 * Solves `dy/dt = f(t, y)` like {@link odeint}, and returns a solution whose `backward` gives
 * `dL/dy0` and `dL/dθ` by the adjoint method.
 *
 * `params` are the tensors (usually `tf.Variable`s) that `f` reads, directly or through a
 * closure; their gradients come back in the same order, zeros for any that `f` does not use.
 * When `f` carries its own VJP (a `VjpField`, e.g. from `mlpField` or `withVjp`), the
 * backward solve uses it instead of the tape; `params` are then matched to `f.params` by
 * identity (usually `f.params` itself).
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
  const nParams = params.length;
  // The backward plan: on the augmented tuple [z…, a_z…, a_θ…], integrating −aᵀ∂f/∂· for the
  // adjoints (the sign folded into the step's weights), a_θ passive (f never reads it), and only
  // the state at the end of each interval kept.
  const augLayout = (
    z: tf.Tensor[],
    a: tf.Tensor[],
    aTheta: tf.Tensor[],
  ) => [...z, ...a, ...aTheta];
  const roles = {
    signs: [...new Array(nY).fill(1), ...new Array(nY + nParams).fill(-1)],
    passive: [...new Array(2 * nY).fill(false), ...new Array(nParams).fill(true)],
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
      const stats = emptyStats(backward.record ?? false);
      const last = times.length - 1;
      // Rows of the forward solution and of dL/dys at every output time, one unstack each.
      const yRows = tf.tidy(() => ys.map((y) => tf.unstack(y)));
      const gRows = tf.tidy(() => partsOf(dLdys).map((g) => tf.unstack(g)));
      const zeros = new Map<number, tf.Tensor>(); // for parameters f does not read
      const zeroFor = (k: number) => {
        let z = zeros.get(k);
        if (z === undefined) zeros.set(k, z = tf.keep(tf.zerosLike(params[k]))); // (made in a tidy)
        return z;
      };
      const augmented = augmentedField(f as unknown as VectorField, layout, params, zeroFor);
      let z: tf.Tensor[] = yRows.map((r) => r[last]);
      let a: tf.Tensor[] = gRows.map((r) => tf.clone(r[last]));
      let aTheta = params.map((p) => tf.zerosLike(p));
      try {
        for (let i = last; i > 0; i--) {
          const p: Plan = {
            ...plan(augLayout(z, a, aTheta), [times[i], times[i - 1]], backward),
            roles,
            lastOnly: true,
          };
          const seg = await runAsync(solve(augmented, augLayout(z, a, aTheta), p));
          addStats(stats, seg.stats);
          const end = seg.ys as tf.Tensor[];
          tf.dispose([a, aTheta]);
          z = yRows.map((r) => r[i - 1]); // reset to the forward solution
          a = tf.tidy(() => end.slice(nY, 2 * nY).map((x, k) => tf.add(x, gRows[k][i - 1])));
          aTheta = end.slice(2 * nY);
          tf.dispose(end.slice(0, 2 * nY));
        }
        const y0Grad = fromParts(a, layout) as S;
        const result = { y0: y0Grad, params: aTheta, stats };
        a = [];
        aTheta = [];
        return result;
      } finally {
        tf.dispose([a, aTheta, yRows, gRows, [...zeros.values()]]);
      }
    },
  };
}

/**
 * The augmented dynamics of the backward solve on the parts `[z…, a_z…, a_θ…]`: returns
 * `[f(t, z)…, aᵀ∂f/∂z…, aᵀ∂f/∂θ…]` (the solver integrates the last two negated). From the
 * field's own VJP when it has one ({@link withVjp}), else from the tape (one forward pass of
 * `f` under it and one backward pass; a single-tensor state is not packed).
 */
function augmentedField(
  f: VectorField,
  layout: StateLayout,
  params: tf.Tensor[],
  zeroFor: (k: number) => tf.Tensor,
): VectorField {
  const nY = layout.shapes.length;
  if (isVjpField(f)) {
    // Where each of the field's parameters sits in `params` (−1: not asked for).
    const own = f.params.map((q) => params.indexOf(q));
    return (t: number, aug: State): tf.Tensor[] => {
      const parts = aug as tf.Tensor[];
      const z = fromParts(parts.slice(0, nY), layout);
      const a = fromParts(parts.slice(nY, 2 * nY), layout);
      const r = f.vjp(t, z, a);
      checkLike(r.y, layout, "vjp(t, y, a).y");
      if (!Array.isArray(r.params) || r.params.length !== f.params.length) {
        throw new TypeError(
          `vjp(t, y, a).params must hold one gradient per field parameter (${f.params.length}), ` +
            `got ${Array.isArray(r.params) ? r.params.length : typeof r.params}`,
        );
      }
      const gθ = params.map((_, k) => {
        const j = own.indexOf(k);
        return j >= 0 ? r.params[j] : zeroFor(k);
      });
      return [...partsOf(r.value), ...partsOf(r.y), ...gθ];
    };
  }
  return (t: number, aug: State): tf.Tensor[] => {
    const parts = aug as tf.Tensor[];
    const z = parts.slice(0, nY);
    const a = parts.slice(nY, 2 * nY);
    if (!layout.isTuple) {
      const { value, grads } = tf.engine().gradients(
        () => {
          const out = f(t, z[0]);
          checkLike(out, layout, "f(t, y)");
          return out as tf.Tensor;
        },
        [z[0], ...params],
        a[0],
        true,
      );
      return [value, ...grads.map((g, k) => g ?? (k === 0 ? tf.zerosLike(z[0]) : zeroFor(k - 1)))];
    }
    const { value, grads } = vjp(() => partsOf(f(t, fromParts(z, layout))), [...z, ...params], a);
    return [...value, ...grads];
  };
}
