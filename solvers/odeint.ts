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
import { errorRatio, initialStep, type PendingRatio } from "./controller.ts";
import {
  MaxStepsError,
  NonFiniteError,
  type OdeSolveError,
  StepSizeUnderflowError,
} from "./errors.ts";
import { denseWeights, polynomialAt, polynomialWeights, usesF1 } from "./dense_output.ts";
import { DenseSolution } from "./dense_solution.ts";
import { crossed, type EventResult, eventValue, locateOnStep } from "./events.ts";
import { type OdeintOptions, type Plan, plan } from "./options.ts";
import { allFinite, freeTapeOnThrow, type Reads, runAsync, runSync } from "./reads.ts";
import { appendDenseStages, nextAfter, type RkStep, rkStep } from "./rk_step.ts";
import { hasFusedKernels, linearCombination } from "./fused_ops.ts";
import { toleranceRows } from "./tolerances.ts";
import { checkWasmSolution, explainWasmFailure } from "./wasm_memory.ts";
import { checkLike, fromParts, partsOf, type State, type VectorField, view } from "./state.ts";

import type { OdeSolution, SolveStats } from "./solution.ts";

export { type Reads, runAsync } from "./reads.ts";
export type { OdeSolution, SolveStats } from "./solution.ts";

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
 * `ts` may be a 1-D tensor, or a single time (the output is `[y0]`). With `event`, the solve
 * stops where `g(t, y)` crosses zero (see `events.ts`); with `dense: true`, `sol.dense`
 * evaluates the solution anywhere in the span (see `dense_solution.ts`).
 *
 * Bad input throws a `TypeError` or `RangeError` before any work. A failed solve (too many
 * steps, step-size underflow, NaN/Inf) throws an {@link OdeSolveError} naming `t`, `dt`, the
 * last error ratio and the NFE, or with `onFailure: "return"` returns what it reached.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { odeint } from "@fasterode/fasterode";
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
  ts: ArrayLike<number> | tf.Tensor,
  options: OdeintOptions = {},
): Promise<OdeSolution<S>> {
  const p = plan(y0, ts, options);
  try {
    return checkWasmSolution(await runAsync(solve(f as unknown as VectorField, y0, p)), p.layout);
  } catch (error) {
    throw explainWasmFailure(error, p.layout.size);
  }
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
 * import { odeintSync } from "@fasterode/fasterode";
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
  ts: ArrayLike<number> | tf.Tensor,
  options: OdeintOptions = {},
): OdeSolution<S> {
  const p = plan(y0, ts, options);
  try {
    const run = () => runSync(solve(f as unknown as VectorField, y0, p));
    return checkWasmSolution(freeTapeOnThrow(run), p.layout);
  } catch (error) {
    throw explainWasmFailure(error, p.layout.size);
  }
}

/**
 * The solve loop shared by {@link odeint} and {@link odeintSync}, as a generator that yields each
 * tensor it must read (so one loop serves async and sync reads). The state is kept as rows
 * `[1, n_p]`, one per tensor of the state (never packed into one), and `f` sees them as views in
 * their shapes (counted, shape-checked). It picks the first step (Hairer's rule or `firstStep`),
 * then repeats: clip the step to `dtMax`, the next breakpoint and the end; take one
 * {@link rkStep}; accept or reject it by the error ratio under `p.norm` (fused when the norm
 * declared its groups); on acceptance fill every output time inside the step from the dense
 * output and, at a `jumpT` time, evaluate `f` afresh; let the controller size the next step. It
 * fails with a typed error (or returns the outputs so far with `onFailure: "return"`) on too
 * many steps, step-size underflow or a non-finite state, and disposes everything it made except
 * the returned `ys`.
 */
export function* solve(f: VectorField, y0: State, p: Plan): Reads<OdeSolution<State>> {
  const { tableau, layout, direction, roles, event } = p;
  // The norm's fused form, where the backend has the fused kernels (else the norm's own ops).
  const fusedKernels = hasFusedKernels();
  // (tolerances that vary by element take the norm's own ops)
  const elementTol = p.partTol !== undefined &&
    [...p.partTol.rtol, ...p.partTol.atol].some((v) => typeof v !== "number");
  const fused = fusedKernels && !elementTol ? p.fused : undefined;
  const stats: SolveStats = { nfe: 0, nAccepted: 0, nRejected: 0 };
  if (p.record) Object.assign(stats, { evalTs: [], acceptTs: [], rejectTs: [] });
  const shapes = layout.shapes as number[][];
  const sizes = layout.sizes as number[];
  const signs = roles?.signs;
  const sign = (k: number) => signs?.[k] ?? 1;
  const toRows = (parts: tf.Tensor[]) => parts.map((x, k) => view(x, [1, sizes[k]]));
  const toShapes = (rows: tf.Tensor[], lead: number[] = []) =>
    rows.map((x, k) => view(x, [...lead, ...shapes[k]]));
  const tolRows = p.partTol && {
    rtol: toleranceRows(p.partTol.rtol, layout),
    atol: toleranceRows(p.partTol.atol, layout),
  };
  const ratioSpec = { shapes, rtol: p.rtol, atol: p.atol, partTol: tolRows, norm: p.norm, fused };
  const errParts = fused?.measured;
  // |y| per part, for the norm's own ops (the fused kernels take |y| themselves).
  const needsAbs = (_k: number) => fused === undefined;
  const withF1 = usesF1(tableau);

  // f on rows, counted and checked.
  const evalF = (t: number, rows: tf.Tensor[]): tf.Tensor[] =>
    tf.tidy(() => {
      stats.nfe++;
      stats.evalTs?.push(t);
      const out = f(t, fromParts(toShapes(rows), layout));
      checkLike(out, layout, "f(t, y)");
      return toRows(partsOf(out));
    });

  const owned = new Set<tf.Tensor>(); // tensors this solve must dispose
  const own = <T extends tf.Tensor | undefined>(x: T): T => (x !== undefined && owned.add(x), x);
  const ownAll = <T extends (tf.Tensor | undefined)[]>(xs: T): T => (xs.forEach(own), xs);
  const drop = (x: tf.Tensor | undefined) => {
    if (x !== undefined && owned.delete(x)) x.dispose();
  };
  const dropAll = (xs: readonly (tf.Tensor | undefined)[] | undefined) => xs?.forEach(drop);

  const outputs: tf.Tensor[][] = []; // rows at the output times reached
  const outTs: number[] = []; // their times
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
  const keep = (rows: tf.Tensor[], t: number) => {
    if (p.lastOnly) outputs.forEach(dropAll), outputs.length = 0, outTs.length = 0;
    outputs.push(rows);
    outTs.push(t);
  };
  const result = (reached: number): State =>
    tf.tidy(() => {
      if (p.lastOnly) return fromParts(toShapes(outputs[outputs.length - 1]), layout);
      const stacked = shapes.map((_, k) =>
        outputs.length === 1 ? outputs[0][k] : tf.concat(outputs.map((o) => o[k]), 0)
      );
      return fromParts(toShapes(stacked, [reached]), layout);
    });
  const dense = p.dense ? new DenseSolution(layout, p.ts[0], direction) : undefined;
  const eventResult: EventResult | undefined = event && { status: "not_fired", times: [] };
  function* gAt(t: number, rows: tf.Tensor[]): Reads<number> {
    const shaped = toShapes(rows);
    try {
      return yield* eventValue(event!, t, fromParts(shaped, layout));
    } finally {
      tf.dispose(shaped);
    }
  }
  let returned = false;

  try {
    let y: tf.Tensor[] = ownAll(toRows(partsOf(y0)));
    if (p.consumeY0) tf.dispose(partsOf(y0)); // (the views keep the buffers while they are used)
    if (!(yield* allFinite(y))) throw new RangeError("y0 contains NaN or Inf");
    let fy = ownAll(evalF(direction * s, y));
    let absY: (tf.Tensor | undefined)[] = ownAll(
      y.map((x, k) => needsAbs(k) ? tf.abs(x) : undefined),
    );
    // (with lastOnly, the start is an output only when it is the last: a view kept until the
    // end would hold y0's memory through the whole solve)
    if (!p.lastOnly || sOut.length === 1) keep(ownAll(y.map((x) => view(x, x.shape))), p.ts[0]);
    let nextOut = 1;
    let nextBreak = 0;
    let gPrev = event === undefined ? NaN : yield* gAt(direction * s, y);
    let stopped = false; // a terminal event ended the solve

    if (tableau.adaptive && sOut.length > 1) {
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
          ratioSpec,
          signs,
        );
        if (!Number.isFinite(ds)) throw fail("nonfinite"); // f(t0, y0) is not finite
      }
      ds = Math.min(Math.max(ds, p.dtMin), p.dtMax);
    }

    let attempts = 0;
    while (nextOut < sOut.length && !stopped) {
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

      // A method's own stepper (implicit methods) runs outside tf.tidy and returns fresh tensors.
      const own_step: RkStep | undefined = tableau.step === undefined
        ? undefined
        : yield* tableau.step(tableau, evalF, t0, t1, y, fy, {
          ...roles,
          errParts,
          tolerances: { rtol: p.rtol, atol: p.atol },
        });
      let finish: PendingRatio["finish"] | undefined;
      const step = tf.tidy(() => {
        const { K, y1, kLast, err } = own_step ??
          rkStep(tableau, evalF, t0, t1, y, fy, { ...roles, errParts });
        if (err === undefined) return { K, y1, kLast };
        const absY1 = y1.map((x, k) => needsAbs(k) ? tf.abs(x) : undefined);
        const r = errorRatio(err, { y0: y, y1, absY0: absY, absY1 }, ratioSpec);
        finish = r.finish;
        return { K, y1, kLast, absY1: absY1 as tf.Tensor[], r: r.tensor };
      }) as {
        K: tf.Tensor[][];
        y1: tf.Tensor[];
        kLast: tf.Tensor[];
        absY1?: (tf.Tensor | undefined)[];
        r?: tf.Tensor;
      };
      tf.dispose(own_step?.err?.filter((e) => e !== undefined) as tf.Tensor[] | undefined);
      // The stages this step made (K also holds y0 and f0, owned as y and fy).
      const made = step.K.flatMap((Kk) => Kk.slice(2));
      ownAll(made);
      ownAll(step.y1);
      const absY1 = step.absY1 === undefined ? undefined : ownAll(step.absY1);
      // The last stage's f (f(t1, y1) for FSAL methods); for a one-stage method it is fy itself.
      const kLast = step.kLast === fy ? undefined : ownAll(step.kLast);
      let accept = true;
      if (step.r !== undefined) {
        const values = yield step.r;
        step.r.dispose();
        ratio = finish!(values);
        if (!Number.isFinite(ratio)) throw fail("nonfinite");
        accept = ratio <= 1 || h <= p.dtMin;
        ds = Math.min(Math.max(p.controller.next(h, ratio), p.dtMin), p.dtMax);
      }
      p.onStep?.({ t: t0, dt, accepted: accept, errorRatio: tableau.adaptive ? ratio : NaN });
      if (!accept) {
        stats.nRejected++;
        stats.rejectTs?.push(t1);
        dropAll(made);
        dropAll(step.y1);
        dropAll(kLast);
        dropAll(absY1);
        continue;
      }
      stats.nAccepted++;
      stats.acceptTs?.push(t1);

      // The event at the step's end, or at the last output time for a step past it (from the
      // interpolant, below): did it cross zero inside the solved span?
      const sB = Math.min(target, sEnd);
      let g1 = NaN;
      let fires = false;
      if (event !== undefined && target <= sEnd) {
        g1 = yield* gAt(t1, step.y1);
        fires = crossed(gPrev, g1, event.direction);
      }
      // f at the end of the step: free for FSAL methods, else one evaluation (needed for the
      // next step, or for dense output inside this one).
      const needsInterior = nextOut < sOut.length && sOut[nextOut] < target;
      const more = target < sEnd;
      let f1: tf.Tensor[] | undefined;
      if (tableau.fsal) {
        f1 = kLast; // f(t1, y1), the last stage
      } else if (
        needsInterior || (more && !onBreak?.jump) || (withF1 && (dense !== undefined || fires))
      ) {
        f1 = ownAll(evalF(t1, step.y1));
      }
      // (kLast stays in the stages until the dense output below is made)
      if (!tableau.adaptive && (nextOut === sOut.length - 1 || needsInterior)) {
        // Fixed steps read nothing back per step: check finiteness where outputs are made.
        if (!(yield* allFinite(step.y1))) throw fail("nonfinite");
      }
      // A tableau's dense stages (dop853's 14–16), only for a step whose interpolant is used.
      if (
        tableau.denseStages !== undefined &&
        (needsInterior || dense !== undefined || fires || (event !== undefined && target > sEnd))
      ) {
        const rows = appendDenseStages(tableau, evalF, t0, t1, step.K, roles).flat();
        ownAll(rows);
        made.push(...rows);
      }
      const rowsOf = (k: number) => withF1 ? [...step.K[k], f1![k]] : step.K[k];
      // The interpolant's polynomial coefficients, where a dense solution or an event needs them.
      // (a step past the last output time has an output inside it, so f1 is there)
      const C = dense !== undefined || fires || (event !== undefined && target > sEnd)
        ? tf.tidy(() =>
          step.K.map((_, k) =>
            polynomialWeights(tableau, dt * sign(k)).map((w) => linearCombination(rowsOf(k), w))
          )
        )
        : undefined;
      if (event !== undefined && target > sEnd) {
        const rows = tf.tidy(() => polynomialAt(C!, (sEnd - s) / h));
        try {
          g1 = yield* gAt(direction * sEnd, rows);
        } catch (e) {
          tf.dispose(C);
          throw e;
        } finally {
          tf.dispose(rows);
        }
        fires = crossed(gPrev, g1, event.direction);
      }
      let sStop = target; // where this step's outputs end (an event may cut it short)
      let yStop: tf.Tensor[] | undefined; // the state at a terminal event
      try {
        if (fires) {
          const gOf = (sx: number, rows: tf.Tensor[]) => gAt(direction * sx, rows);
          const sEvent = yield* locateOnStep(gOf, C!, [s, target], [gPrev, g1], [s, sB]);
          const tEvent = direction * sEvent;
          eventResult!.times.push(tEvent);
          const yEvent = tf.tidy(() =>
            sEvent === target ? step.y1.map((x) => tf.clone(x)) : polynomialAt(C!, (sEvent - s) / h)
          );
          if (eventResult!.status === "not_fired") {
            eventResult!.status = "fired";
            eventResult!.t = tEvent;
            eventResult!.y = tf.tidy(() =>
              fromParts(yEvent.map((x, k) => tf.reshape(x, shapes[k])), layout)
            );
          }
          if (event!.terminal) {
            stopped = true;
            sStop = sEvent;
            yStop = ownAll(yEvent);
          } else {
            tf.dispose(yEvent);
          }
        }
      } catch (e) {
        tf.dispose(C);
        throw e;
      }

      // Outputs inside (s, sStop]: dense output, or y1 itself at the end point.
      while (nextOut < sOut.length && sOut[nextOut] <= sStop) {
        if (sOut[nextOut] === target) {
          keep(ownAll(step.y1.map((x) => view(x, x.shape))), p.ts[nextOut]);
        } else {
          const x = (sOut[nextOut] - s) / h;
          keep(
            ownAll(
              tf.tidy(() =>
                step.K.map((_, k) =>
                  linearCombination(rowsOf(k), denseWeights(tableau, x, dt * sign(k)))
                )
              ),
            ),
            p.ts[nextOut],
          );
        }
        nextOut++;
      }
      // A terminal event ends the outputs (unless it fell on an output time).
      if (yStop !== undefined && outTs[outTs.length - 1] !== direction * sStop) {
        keep(yStop, direction * sStop);
      }
      if (dense !== undefined) dense.push(s, sStop, h, C!);
      else tf.dispose(C);
      gPrev = g1;

      // Advance (the last stage lives on as fy for FSAL methods).
      dropAll(made.filter((k) => !(tableau.fsal && f1?.includes(k))));
      dropAll(y);
      dropAll(absY);
      y = step.y1;
      absY = absY1 ?? ownAll(y.map((x, k) => needsAbs(k) ? tf.abs(x) : undefined));
      dropAll(fy);
      if (onBreak?.jump && more) {
        // Re-evaluate just after the jump: the FSAL value is the left limit.
        dropAll(f1);
        fy = ownAll(evalF(nextAfter(t1, t1 + direction), y));
      } else {
        fy = f1!;
      }
      s = target;
      if (onBreak !== undefined) nextBreak++;
    }
    if (dense !== undefined && dense.steps === 0) {
      // No step (one output time): y(t) = y0 + (t − t0)·f0 at t0 only.
      dense.push(
        s,
        s,
        1,
        tf.tidy(() => y.map((x, k) => [tf.clone(x), tf.mul(fy[k], direction * sign(k))])),
      );
    }
    returned = true;
    return {
      ts: outTs.slice(),
      ys: result(outputs.length),
      status: "success",
      stats,
      ...(eventResult && { event: eventResult }),
      ...(dense && { dense }),
    };
  } catch (error) {
    if (p.onFailure === "return" && isSolveError(error) && outputs.length > 0) {
      const reached = outputs.length;
      returned = true;
      return {
        ts: outTs.slice(),
        ys: result(reached),
        status: error.status,
        error,
        stats,
        ...(eventResult && { event: eventResult }),
        ...(dense && { dense }),
      };
    }
    throw error;
  } finally {
    for (const x of owned) x.dispose();
    owned.clear();
    if (tolRows) {
      tf.dispose([...tolRows.rtol, ...tolRows.atol].filter((v) => typeof v !== "number"));
    }
    if (!returned) {
      dense?.dispose();
      tf.dispose(eventResult?.y as tf.Tensor | tf.Tensor[] | undefined);
    }
  }
}

function isSolveError(e: unknown): e is OdeSolveError {
  return e instanceof Error && "status" in e && "nfe" in e;
}
