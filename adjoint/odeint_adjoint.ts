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
 * time's incoming gradient is added to `a_z`. With `gradTs: true`, `dL/dts` follows from the
 * outputs and `a_z` in closed form (`time_grads.ts`), no time adjoint in the solve. Memory is constant in the number of steps; each
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
import { rejectUnknownKeys } from "../solvers/unknown_keys.ts";
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
  type VectorField,
} from "../solvers/state.ts";
import { adjointNorm, type AdjointNormSpec } from "./norms.ts";
import { augmentedField } from "./augmented_field.ts";
import { isVjpField } from "./vjp_field.ts";
import { timeGradients } from "./time_grads.ts";
import { eventCotangent } from "./event_grads.ts";
import { planEvent } from "../solvers/events.ts";
import { explainWasmFailure } from "../solvers/wasm_memory.ts";

/**
 * Options of the backward solve; each defaults to the forward solve's value, but `onStep` (give
 * the backward solve its own). `event` and `dense` belong to the forward solve only.
 */
export interface AdjointOptions
  extends Omit<OdeintOptions, "norm" | "onFailure" | "event" | "dense"> {
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
  /**
   * Also return `dL/dts` from `backward` (default `false`): closed forms in the forward outputs
   * and the state adjoint, one extra evaluation of `f` per output time, the backward error norm
   * unchanged (see `time_grads.ts`).
   */
  gradTs?: boolean;
}

/** Gradients from {@link AdjointSolution.backward}. */
export interface AdjointGradients<S extends State> {
  /** `dL/dy0`, shaped like `y0`. */
  y0: S;
  /** `dL/dθ` for each tensor of `params`, in the same order. */
  params: tf.Tensor[];
  /**
   * With `gradTs: true`: `dL/dts`, a float32 tensor with one entry per time of the solution's
   * `ts` (the times reached; at a terminal event's time, which is no input, the entry is 0: the
   * event's own gradient is in `y0` and `params`).
   */
  ts?: tf.Tensor1D;
  /** Statistics of the backward solve, summed over the output intervals. */
  stats: SolveStats;
}

/** A forward solution that can be differentiated with the adjoint method. */
export interface AdjointSolution<S extends State> extends OdeSolution<S> {
  /** The parameters the gradients are taken with respect to. */
  params: tf.Tensor[];
  /**
   * Solves the adjoint system backwards. `dLdys` is the loss gradient at every output time,
   * shaped like `ys`. Needs `ys` (not yet disposed); may be called more than once. After a
   * terminal event, the gradients include the event time's dependence on `y0` and `params`
   * (see `event_grads.ts`), and `options.eventTime` gives `dL/dt_e` when the loss reads it.
   */
  backward(dLdys: S, options?: BackwardOptions): Promise<AdjointGradients<S>>;
}

/** Options of {@link AdjointSolution.backward}. */
export interface BackwardOptions {
  /**
   * `dL/dt_e`, the loss gradient with respect to the time of a terminal event that fired
   * (default 0); e.g. 1 for `L = t_e`.
   */
  eventTime?: number;
}

/**
 * Backward options: those of the forward solve but `onFailure` (a backward failure throws),
 * `event` and `dense` (forward-only).
 */
const FORWARD_ONLY = ["onFailure", "event", "dense"];
const ADJOINT_KEYS = OPTION_KEYS.filter((key) => !FORWARD_ONLY.includes(key));

/**
 * Throws a RangeError naming `dL/dys`, the output time and the state part, when a cotangent
 * holds NaN or Inf (the backward solve would otherwise fail as a non-finite state).
 */
async function checkFinite(parts: tf.Tensor[], times: number[]): Promise<void> {
  // Per part, the number of non-finite entries at each output time.
  const counts = tf.tidy(() =>
    tf.stack(parts.map((g) => {
      const rows = tf.reshape(g, [times.length, -1]);
      return tf.sum(tf.cast(tf.logicalNot(tf.isFinite(rows)), "int32"), 1);
    }))
  );
  const bad = await counts.data();
  counts.dispose();
  const at = bad.findIndex((n) => n > 0);
  if (at < 0) return;
  const part = Math.floor(at / times.length);
  const i = at % times.length;
  const where = parts.length > 1 ? ` (state part ${part})` : "";
  throw new RangeError(
    `dL/dys contains NaN or Inf: ${bad[at]} entries at output time ts[${i}] = ${times[i]}` +
      `${where}. The loss gradient is not finite; check the loss and the readout`,
  );
}

/** Row `i` of each part (a copy, the caller's), shaped like one time's state part. */
function rowOf(parts: tf.Tensor[], i: number): tf.Tensor[] {
  return tf.tidy(() => parts.map((x) => tf.reshape(tf.slice(x, i, 1), x.shape.slice(1))));
}

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
 * `adjoint: { norm: "seminorm" }` for the cheaper backward solve. `gradTs: true` adds `dL/dts`
 * to the gradients. With a terminal `event`, the solve stops at the event time `t_e` and the
 * gradients go through it (implicit function rule; `backward(dLdys, { eventTime })` for a loss
 * that reads `t_e`). A trainable variable that `f` reads but `params` leaves out is an error
 * (its gradient would be lost): list it, or set `v.trainable = false`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import assert from "node:assert/strict";
 * import { odeintAdjoint } from "@fasterode/fasterode";
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
 *
 * @example The gradient of an event time: a ball dropped from height h lands at √(2h/g)
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import assert from "node:assert/strict";
 * import { odeintAdjoint } from "@fasterode/fasterode";
 * // y = [height, velocity], y' = [v, −g]
 * const fall = (_t: number, y: tf.Tensor) =>
 *   tf.stack([tf.slice(y, [1], [1]).reshape([]), tf.scalar(-9.81)]);
 * const sol = await odeintAdjoint(fall, tf.tensor([2, 0]), [0, 5], [], {
 *   rtol: 1e-7,
 *   event: (_t, y) => tf.slice(y, [0], [1]), // height = 0
 * });
 * assert.ok(Math.abs(sol.event!.t! - Math.sqrt(2 * 2 / 9.81)) < 1e-5);
 * // L = t_e: dL/dh = 1/√(2gh).
 * const g = await sol.backward(tf.zeros([2, 2]), { eventTime: 1 });
 * assert.ok(Math.abs((await g.y0.data())[0] - 1 / Math.sqrt(2 * 9.81 * 2)) < 1e-4);
 * ```
 */
export async function odeintAdjoint<S extends State>(
  f: VectorField<S>,
  y0: S,
  ts: ArrayLike<number> | tf.Tensor,
  params: tf.Tensor[],
  options: OdeintAdjointOptions = {},
): Promise<AdjointSolution<S>> {
  const { adjoint = {}, gradTs = false, ...forward } = options;
  if (typeof gradTs !== "boolean") {
    throw new TypeError(`gradTs must be true or false, got ${gradTs}`);
  }
  if (!Array.isArray(params) || params.some((p) => !(p instanceof tf.Tensor))) {
    throw new TypeError("params must be an array of the tf.Tensor/tf.Variable objects f reads");
  }
  if (new Set(params).size !== params.length) throw new TypeError("params lists a tensor twice");
  rejectUnknownKeys("adjoint", adjoint, ADJOINT_KEYS);
  const layout = layoutOf(y0);
  const stateNorm = forward.norm ?? (layout.isTuple ? mixedNorm : rmsNorm);
  const nY = layout.shapes.length;
  const { norm: normSpec = "default", ...backOptions } = adjoint;
  // (event and dense are the forward solve's; a step callback is per solve: adjoint.onStep)
  const { event: eventOption, dense: _dense, onStep: _onStep, ...inherited } = forward;
  const eventPlan = eventOption === undefined ? undefined : planEvent(eventOption);
  const backward: OdeintOptions = {
    ...inherited,
    onFailure: "throw",
    ...backOptions,
    norm: adjointNorm(normSpec, stateNorm, nY),
  };
  if (forward.stepSize !== undefined && backOptions.method !== undefined) {
    // A stepSize belongs to the forward method; do not carry it to a different backward one.
    if (!("stepSize" in backOptions)) delete backward.stepSize;
  }
  if (isVjpField(f)) {
    const dropped = f.params.filter((q) =>
      q instanceof tf.Variable && q.trainable && !params.includes(q)
    );
    if (dropped.length > 0) {
      throw new TypeError(
        `params leaves out the field's trainable variable(s) ` +
          `${dropped.map((v) => `"${(v as tf.Variable).name}"`).join(", ")} (of f.params): ` +
          `their gradients would be dropped. Pass f.params, or freeze them with v.trainable = false`,
      );
    }
  }
  // Both solves' options checked before any work: a bad adjoint option fails here, not at
  // backward() after the forward solve.
  const times = plan(y0, ts, forward).ts;
  for (const name of ["rtol", "atol"] as const) {
    if (backward[name] !== undefined && typeof backward[name] !== "number") {
      throw new TypeError(
        `per-component ${name} (a tensor or per-part array) applies to the forward solve only: ` +
          `the backward state [y, dL/dy, dL/dθ] has other parts. Give adjoint: { ${name}: <number> }`,
      );
    }
  }
  plan(y0, [...times].reverse(), { ...backward, norm: undefined });
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
    async backward(dLdys: S, options: BackwardOptions = {}): Promise<AdjointGradients<S>> {
      if (sol.status !== "success") {
        throw new Error(`backward needs a complete forward solve; it ended with "${sol.status}"`);
      }
      // The times reached: all of ts, or those before a terminal event and the event time.
      const times = sol.ts;
      const { eventTime = 0, ...unknown } = options;
      if (Object.keys(unknown).length > 0) {
        throw new TypeError(
          `Unknown backward option "${Object.keys(unknown)[0]}"; valid: eventTime`,
        );
      }
      const atEvent = eventPlan?.terminal === true && sol.event?.status === "fired" &&
        sol.event.t === times[times.length - 1];
      if (!Number.isFinite(eventTime)) {
        throw new RangeError(`eventTime must be finite, got ${eventTime}`);
      }
      if (eventTime !== 0 && !atEvent) {
        throw new TypeError(
          "backward's eventTime needs a terminal event that fired (pass event to odeintAdjoint): " +
            (sol.event === undefined
              ? "this solve has no event"
              : `the event ${sol.event.status === "fired" ? "is not terminal" : "did not fire"}`),
        );
      }
      checkLike(dLdys, layout, "dL/dys", [times.length]);
      await checkFinite(partsOf(dLdys), times);
      const ys = partsOf(sol.ys);
      if (ys.some((y) => y.isDisposed)) {
        throw new Error("backward needs sol.ys, which was disposed; dispose it after backward");
      }
      const stats = emptyStats(backward.record ?? false);
      const last = times.length - 1;
      // Row i of the forward solution and of dL/dys, sliced when needed (the caller's; a copy
      // of every row at once would cost two states per output time).
      const gs = partsOf(dLdys);
      const yRow = (i: number) => rowOf(ys, i);
      const gRow = (i: number) => rowOf(gs, i);
      const zeros = new Map<number, tf.Tensor>(); // for parameters f does not read
      const zeroFor = (k: number) => {
        let z = zeros.get(k);
        if (z === undefined) zeros.set(k, z = tf.keep(tf.zerosLike(params[k]))); // (made in a tidy)
        return z;
      };
      const augmented = augmentedField(f as unknown as VectorField, layout, params, zeroFor);
      let z: tf.Tensor[] = yRow(last);
      let a: tf.Tensor[] = [];
      let aTheta: tf.Tensor[] = [];
      let fromEvent: (tf.Tensor | undefined)[] = []; // −λ·∂g/∂θ of a terminal event
      try {
        if (atEvent) {
          const gLast = gRow(last);
          try {
            const c = await eventCotangent(
              f as unknown as VectorField,
              eventPlan!,
              times[last],
              z,
              gLast,
              eventTime,
              params,
              layout,
            );
            a = c.adjY;
            fromEvent = c.params;
            stats.nfe += c.nfe;
            stats.evalTs?.push(times[last]);
          } finally {
            tf.dispose(gLast);
          }
        } else {
          a = gRow(last);
        }
        aTheta = params.map((p) => tf.zerosLike(p));
        for (let i = last; i > 0; i--) {
          // (the segment disposes z, a and aTheta, its start state, once it has stepped on)
          const p: Plan = {
            ...plan(augLayout(z, a, aTheta), [times[i], times[i - 1]], backward),
            roles,
            lastOnly: true,
            consumeY0: true,
          };
          const seg = await runAsync(solve(augmented, augLayout(z, a, aTheta), p));
          addStats(stats, seg.stats);
          const end = seg.ys as tf.Tensor[];
          tf.dispose([z, a, aTheta]);
          z = yRow(i - 1); // reset to the forward solution
          const g = gRow(i - 1);
          a = tf.tidy(() => end.slice(nY, 2 * nY).map((x, k) => tf.add(x, g[k])));
          tf.dispose(g);
          aTheta = end.slice(2 * nY);
          tf.dispose(end.slice(0, 2 * nY));
        }
        let tsGrad: tf.Tensor1D | undefined;
        if (gradTs) {
          // a(t0⁺): the adjoint at the start before g_0 was added.
          const g0 = gRow(0);
          const start = tf.tidy(() => a.map((x, k) => tf.sub(x, g0[k])));
          tf.dispose(g0);
          try {
            const tg = timeGradients(
              f as unknown as VectorField,
              times,
              yRow,
              gRow,
              start,
              layout,
            );
            stats.nfe += tg.nfe;
            stats.evalTs?.push(...times);
            tsGrad = tg.grads;
            if (atEvent) {
              // The event time is no input: its entry is 0 (its effect is in y0 and params).
              const mask = tf.tensor1d(times.map((_, i) => (i === last ? 0 : 1)));
              tsGrad = tf.mul(tg.grads, mask) as tf.Tensor1D;
              tf.dispose([mask, tg.grads]);
            }
          } finally {
            tf.dispose(start);
          }
        }
        if (fromEvent.some((g) => g !== undefined)) {
          const sum = tf.tidy(() =>
            aTheta.map((x, k) => fromEvent[k] ? tf.add(x, fromEvent[k]!) : tf.clone(x))
          );
          tf.dispose(aTheta);
          aTheta = sum;
        }
        const y0Grad = fromParts(a, layout) as S;
        const result = { y0: y0Grad, params: aTheta, stats, ...(tsGrad ? { ts: tsGrad } : {}) };
        a = [];
        aTheta = [];
        return result;
      } catch (error) {
        const size = 2 * layout.size + params.reduce((n, q) => n + q.size, 0);
        throw explainWasmFailure(error, size, "the backward state [y, dL/dy, dL/dθ]");
      } finally {
        tf.dispose([z, a, aTheta, [...zeros.values()]]);
        tf.dispose(fromEvent.filter((g): g is tf.Tensor => g !== undefined));
      }
    },
  };
}
