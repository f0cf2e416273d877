/**
 * `odeint`: solve `dy/dt = f(t, y)` from `ts[0]` and return `y` at every time in `ts`.
 *
 * The solve loop: output times, `stepT`/`jumpT`, limits, statistics and errors (the input and
 * options are checked by `plan` in `options.ts`).
 * A step is one explicit Runge–Kutta step from a {@link Tableau}; step sizes come from the
 * {@link Controller}; outputs between steps come from the dense output of `dense_output.ts`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { errorRatio, initialStep } from "./controller.ts";
import {
  MaxStepsError,
  NonFiniteError,
  type OdeSolveError,
  type SolveStatus,
  StepSizeUnderflowError,
} from "./errors.ts";
import { denseWeights } from "./dense_output.ts";
import { type OdeintOptions, type Plan, plan } from "./options.ts";
import { nextAfter, rkStep } from "./rk_step.ts";
import { checkLike, flatten, partsOf, type State, unflatten, type VectorField } from "./state.ts";

/** Statistics of a solve. */
export interface SolveStats {
  /** Vector-field evaluations (every call of `f`). */
  nfe: number;
  /** Accepted steps. */
  nAccepted: number;
  /** Rejected steps. */
  nRejected: number;
  /** With `record`: time of every evaluation, in call order. */
  evalTs?: number[];
  /** With `record`: end time of every accepted step. */
  acceptTs?: number[];
  /** With `record`: end time of every rejected (attempted) step. */
  rejectTs?: number[];
}

/** Result of {@link odeint}. */
export interface OdeSolution<S extends State> {
  /** The output times reached (all of `ts` unless a failure was returned). */
  ts: number[];
  /** The solution at `ts`, each tensor stacked on a new leading time axis. */
  ys: S;
  /** How the solve ended (`"success"` unless `onFailure: "return"` caught a failure). */
  status: SolveStatus;
  /** The failure, when `status` is not `"success"`. */
  error?: OdeSolveError;
  /** Evaluation and step counts. */
  stats: SolveStats;
}

/** A solve as a generator: it yields every tensor it must read and receives its values. */
type Reads<T> = Generator<tf.Tensor, T, ArrayLike<number>>;

/** Whether every element of a tensor is finite (`x·0` sums to 0, else NaN). */
function* allFinite(x: tf.Tensor): Reads<boolean> {
  const t = tf.tidy(() => tf.sum(tf.mul(x, 0)));
  try {
    return (yield t)[0] === 0;
  } finally {
    t.dispose();
  }
}

/** Runs a solve generator reading tensors asynchronously (works on every backend). */
async function runAsync<T>(gen: Reads<T>): Promise<T> {
  let next = gen.next();
  while (!next.done) next = gen.next(await next.value.data());
  return next.value;
}

/** Runs a solve generator reading tensors synchronously (cpu and wasm; keeps a tape intact). */
function runSync<T>(gen: Reads<T>): T {
  let next = gen.next();
  while (!next.done) next = gen.next(next.value.dataSync());
  return next.value;
}

/**
 * Solves `dy/dt = f(t, y)`, `y(ts[0]) = y0`, and returns `y` at every time of `ts`.
 *
 * `ts` is strictly increasing or strictly decreasing (a backward solve); `y0` is one float32
 * tensor or a tuple of them, and `f(t, y)` returns the same structure and shapes. Adaptive
 * methods step with the embedded error estimate under `rtol`/`atol` and fill in the output times
 * with dense output; fixed-step methods step by `stepSize`. Host reads are all `await`ed, so the
 * same call runs on the `cpu`, `wasm` and `webgpu` backends. Tensors created by the solve are
 * disposed, also when it throws; `ys` belongs to the caller.
 *
 * Bad input throws a `TypeError` or `RangeError` before any work. A failed solve (too many
 * steps, step-size underflow, NaN/Inf) throws an {@link OdeSolveError} naming `t`, `dt`, the
 * last error ratio and the NFE, or with `onFailure: "return"` returns what it reached.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { odeint } from "./odeint.ts";
 * // dy/dt = -y, y(0) = 1  →  y(1) = e^{-1}
 * const sol = await odeint((_t, y) => tf.neg(y), tf.tensor([1]), [0, 0.5, 1], { rtol: 1e-6 });
 * const ys = await sol.ys.data();
 * assert.ok(Math.abs(ys[2] - Math.exp(-1)) < 1e-5);
 * console.log(sol.stats.nfe, sol.stats.nAccepted, sol.stats.nRejected);
 * sol.ys.dispose();
 * ```
 */
export async function odeint<S extends State>(
  f: VectorField<S>,
  y0: S,
  ts: ArrayLike<number>,
  options: OdeintOptions = {},
): Promise<OdeSolution<S>> {
  const p = plan(y0, ts, options);
  return await runAsync(solve(f as unknown as VectorField, y0, p)) as OdeSolution<S>;
}

/**
 * {@link odeint} with synchronous reads, for discretise-then-optimise: called inside
 * `tf.grad`/`tf.variableGrads`, gradients flow through every operation of the solver, giving the
 * exact gradient of the discrete solve (memory grows with the number of steps). Needs a backend
 * that reads synchronously (`cpu`, `wasm`); on `webgpu` use the adjoint.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { odeintSync } from "./odeint.ts";
 * // d y(1) / d y0 for y' = -y is e^{-1}.
 * const g = tf.grad((y0: tf.Tensor) => {
 *   const sol = odeintSync((_t, y) => tf.neg(y), y0, [0, 1], { rtol: 1e-6 });
 *   return tf.sum(tf.slice(sol.ys, [1], [1]));
 * })(tf.tensor([1]));
 * assert.ok(Math.abs(g.dataSync()[0] - Math.exp(-1)) < 1e-5);
 * ```
 */
export function odeintSync<S extends State>(
  f: VectorField<S>,
  y0: S,
  ts: ArrayLike<number>,
  options: OdeintOptions = {},
): OdeSolution<S> {
  const p = plan(y0, ts, options);
  return runSync(solve(f as unknown as VectorField, y0, p)) as OdeSolution<S>;
}

/**
 * The solve loop shared by {@link odeint} and {@link odeintSync}, as a generator that yields each
 * tensor it must read (so one loop serves async and sync reads). It evaluates `f` on flat rows
 * (counted, shape-checked, finite-checked), picks the first step (Hairer's rule or `firstStep`),
 * then repeats: clip the step to `dtMax`, the next breakpoint and the end; take one
 * {@link rkStep}; accept or reject it by the error ratio under `p.norm`; on acceptance fill every
 * output time inside the step from the dense output and, at a `jumpT` time, evaluate `f` afresh;
 * let the controller size the next step. It fails with a typed error (or returns the outputs so
 * far with `onFailure: "return"`) on too many steps, step-size underflow or a non-finite state,
 * and disposes everything it made except the returned `ys`.
 */
function* solve(f: VectorField, y0: State, p: Plan): Reads<OdeSolution<State>> {
  const { tableau, layout, direction } = p;
  const stats: SolveStats = { nfe: 0, nAccepted: 0, nRejected: 0 };
  if (p.record) Object.assign(stats, { evalTs: [], acceptTs: [], rejectTs: [] });
  const toParts = (flat: tf.Tensor) => partsOf(unflatten(flat as tf.Tensor2D, layout));

  // f on flat rows, counted and checked.
  const evalF = (t: number, row: tf.Tensor): tf.Tensor =>
    tf.tidy(() => {
      stats.nfe++;
      stats.evalTs?.push(t);
      const out = f(t, unflatten(row as tf.Tensor2D, layout));
      checkLike(out, layout, "f(t, y)");
      return flatten(out, layout);
    });

  const owned = new Set<tf.Tensor>(); // tensors this solve must dispose
  const own = <T extends tf.Tensor>(x: T): T => (owned.add(x), x);
  const drop = (x: tf.Tensor | undefined) => {
    if (x !== undefined && owned.delete(x)) x.dispose();
  };

  const outputs: tf.Tensor[] = []; // flat rows at the output times reached
  const sOut = p.ts.map((t) => direction * t);
  const sEnd = sOut[sOut.length - 1];
  let s = sOut[0];
  let ds = NaN; // proposed size of the next adaptive step, in s
  let h = NaN; // size of the step being taken, in s
  let ratio = NaN;
  const fail = (Err: "max" | "underflow" | "nonfinite"): OdeSolveError => {
    const info = { t: direction * s, dt: direction * h, errorRatio: ratio, nfe: stats.nfe };
    return Err === "max"
      ? new MaxStepsError(p.maxSteps, info)
      : Err === "underflow"
      ? new StepSizeUnderflowError(info)
      : new NonFiniteError(info);
  };

  try {
    let y: tf.Tensor = own(tf.tidy(() => flatten(y0, layout)));
    if (!(yield* allFinite(y))) throw new RangeError("y0 contains NaN or Inf");
    let fy = own(evalF(direction * s, y));
    let absY = own(tf.abs(y));
    outputs.push(own(tf.clone(y)));
    let nextOut = 1;
    let nextBreak = 0;

    if (tableau.adaptive) {
      if (p.firstStep !== undefined) {
        ds = p.firstStep;
      } else {
        ds = yield* initialStep(
          evalF,
          direction * s,
          y,
          fy,
          direction,
          tableau.order,
          p.rtol,
          p.atol,
          p.norm,
          toParts,
        );
        if (!Number.isFinite(ds)) throw fail("nonfinite"); // f(t0, y0) is not finite
      }
      ds = Math.min(Math.max(ds, p.dtMin), p.dtMax);
    }

    let attempts = 0;
    while (nextOut < sOut.length) {
      if (attempts >= p.maxSteps) throw fail("max");
      attempts++;
      // Choose the end of this step: clip to the next break; fixed methods also stop at the end
      // (and, without stepSize, at every output time). Adaptive methods may step past the last
      // output time and interpolate back, as torchdiffeq does, so NFE counts compare with it.
      let target: number;
      if (tableau.adaptive) target = s + ds;
      else if (p.stepSize === undefined) target = sOut[nextOut];
      else {
        // The next point of the grid s_start + i·stepSize (by index, so no rounding drift; a
        // remainder below 1e-9 of a step is merged into the last step).
        const i = Math.floor((s - sOut[0]) / p.stepSize + 1e-9) + 1;
        target = sOut[0] + i * p.stepSize;
        if (target > sEnd - 1e-9 * p.stepSize) target = sEnd;
      }
      let onBreak: { s: number; jump: boolean } | undefined;
      const brk = p.breaks[nextBreak];
      // A step ending within a billionth of itself short of a break snaps onto it: otherwise
      // rounding in s + ds could leave a sliver of a step, too short to take.
      if (brk !== undefined && target >= brk.s - 1e-9 * (target - s)) {
        target = brk.s;
        onBreak = brk;
      }
      if (!tableau.adaptive && target >= sEnd) {
        target = sEnd;
        onBreak = brk !== undefined && brk.s === sEnd ? brk : undefined;
      }
      h = target - s;
      // Underflow: a step below 10 ulps of the time cannot be resolved (SciPy's rule).
      if (!(h > 0) || h < 10 * (nextAfter(s, Infinity) - s)) throw fail("underflow");
      const t0 = direction * s;
      const dt = direction * h;
      const t1 = direction * target;

      const step = tf.tidy(() => {
        const { K, y1, kLast, err } = rkStep(tableau, evalF, t0, t1, y, fy);
        if (err === undefined) return { K, y1, kLast };
        const absY1 = tf.abs(y1);
        const r = errorRatio(err, absY, absY1, p.rtol, p.atol, p.norm, toParts);
        return { K, y1, kLast, absY1, r };
      });
      own(step.K);
      own(step.y1);
      const absY1 = step.absY1 === undefined ? undefined : own(step.absY1);
      // The last stage's f (f(t1, y1) for FSAL methods); for a one-stage method it is fy itself.
      const kLast = step.kLast === fy ? undefined : own(step.kLast);
      let accept = true;
      if (step.r !== undefined) {
        ratio = (yield step.r)[0];
        step.r.dispose();
        if (!Number.isFinite(ratio)) throw fail("nonfinite");
        accept = ratio <= 1 || h <= p.dtMin;
        ds = Math.min(Math.max(p.controller.next(h, ratio), p.dtMin), p.dtMax);
      }
      if (!accept) {
        stats.nRejected++;
        stats.rejectTs?.push(t1);
        drop(step.K);
        drop(step.y1);
        drop(kLast);
        drop(absY1);
        continue;
      }
      stats.nAccepted++;
      stats.acceptTs?.push(t1);

      // f at the end of the step: free for FSAL methods, else one evaluation (needed for the
      // next step, or for dense output inside this one).
      const needsInterior = nextOut < sOut.length && sOut[nextOut] < target;
      const more = target < sEnd;
      let f1: tf.Tensor | undefined;
      if (tableau.fsal) {
        f1 = kLast; // f(t1, y1), the last stage
      } else if (needsInterior || (more && !onBreak?.jump)) {
        f1 = own(evalF(t1, step.y1));
      }
      if (!tableau.fsal) drop(kLast);
      if (!tableau.adaptive && (nextOut === sOut.length - 1 || needsInterior)) {
        // Fixed steps read nothing back per step: check finiteness where outputs are made.
        if (!(yield* allFinite(step.y1))) throw fail("nonfinite");
      }

      // Outputs inside (s, target]: dense output, or y1 itself at the end point.
      while (nextOut < sOut.length && sOut[nextOut] <= target) {
        if (sOut[nextOut] === target) {
          outputs.push(own(tf.clone(step.y1)));
        } else {
          const x = (sOut[nextOut] - s) / h;
          const w = denseWeights(tableau, x, dt);
          outputs.push(own(tf.tidy(() => {
            const basis = tableau.fsal ? step.K : tf.concat([step.K, f1!], 0);
            return tf.matMul(tf.tensor2d(w, [1, w.length]), basis);
          })));
        }
        nextOut++;
      }

      // Advance.
      drop(step.K);
      drop(y);
      drop(absY);
      y = step.y1;
      absY = absY1 ?? own(tf.abs(y));
      drop(fy);
      if (onBreak?.jump && more) {
        // Re-evaluate just after the jump: the FSAL value is the left limit.
        drop(f1);
        fy = own(evalF(nextAfter(t1, t1 + direction), y));
      } else {
        fy = f1!;
      }
      s = target;
      if (onBreak !== undefined) nextBreak++;
    }
    const stacked = tf.tidy(() =>
      unflatten(tf.concat(outputs, 0) as tf.Tensor2D, layout, [outputs.length])
    );
    return { ts: p.ts, ys: stacked, status: "success", stats };
  } catch (error) {
    if (p.onFailure === "return" && isSolveError(error)) {
      const reached = outputs.length;
      const ys = tf.tidy(() => unflatten(tf.concat(outputs, 0) as tf.Tensor2D, layout, [reached]));
      return { ts: p.ts.slice(0, reached), ys, status: error.status, error, stats };
    }
    throw error;
  } finally {
    for (const x of owned) x.dispose();
    owned.clear();
  }
}

function isSolveError(e: unknown): e is OdeSolveError {
  return e instanceof Error && "status" in e && "nfe" in e;
}
