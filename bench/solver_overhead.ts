/**
 * Solver overhead on an MLP vector field (width 64, batch 256, state 2 → 64 → 2 … as
 * `[256, 16]`), forward and backward (adjoint), on each backend given:
 *
 * - forward: tfjs kernels launched per dopri5 step outside `f` (marginal: a long solve minus a
 *   short one, so one-off set-up cancels), and the overhead factor
 *   `solve time / (NFE × time of one bare f call)`;
 * - backward: the same for `backward()` of `odeintAdjoint` (default norm and seminorm), outside the
 *   evaluations of the augmented field, against one bare tape VJP
 *   (`tf.engine().gradients` of `f` with respect to the state and the parameters); and with the
 *   same MLP as an `mlpField`, whose own VJP replaces the tape (against one bare `field.vjp`).
 *
 * ```sh
 * deno run -A bench/solver_overhead.ts            # cpu and wasm
 * deno run -A bench/solver_overhead.ts webgpu
 * ```
 *
 * {@link measureOverhead} takes the solver functions as arguments, so that two versions of the
 * library can be compared side by side in one process.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type BackendName, useBackend } from "../backend.ts";
import type { NormName } from "../adjoint/norms.ts";
import { odeint } from "../solvers/odeint.ts";
import { odeintAdjoint } from "../adjoint/odeint_adjoint.ts";
import { mlpField } from "../fields/mlp.ts";

const BATCH = 256, DIM = 16, WIDTH = 64;

/** The solver functions measured (the library's by default). */
export interface Solvers {
  odeint: typeof odeint;
  odeintAdjoint: typeof odeintAdjoint;
}

/** One backend's figures. */
export interface Overhead {
  backend: string;
  forward: Figures;
  backward: Figures;
}

/** Figures of one kind of solve. */
export interface Figures {
  nfe: number;
  steps: number;
  /** Kernels per step outside the field's evaluations (marginal). */
  kernelsPerStep: number;
  /** One bare evaluation (f, or f with its VJP), ms. */
  evalMs: number;
  solveMs: number;
  /** solveMs / (nfe · evalMs). */
  overhead: number;
  topKernels: [string, number][];
}

function mlp() {
  const W1 = tf.variable(tf.randomNormal([DIM, WIDTH], 0, 1 / Math.sqrt(DIM), "float32", 1));
  const b1 = tf.variable(tf.randomNormal([WIDTH], 0, 0.1, "float32", 2));
  const W2 = tf.variable(tf.randomNormal([WIDTH, DIM], 0, 1 / Math.sqrt(WIDTH), "float32", 3));
  const f = (_t: number, y: tf.Tensor) =>
    tf.tidy(() => tf.matMul(tf.tanh(tf.add(tf.matMul(y as tf.Tensor2D, W1), b1)), W2));
  return { f, params: [W1, b1, W2], dispose: () => tf.dispose([W1, b1, W2]) };
}

/** Median of `reps` timed runs of `fn` after one warm-up, ms. */
async function time(fn: () => Promise<void>, reps: number): Promise<number> {
  await fn();
  const xs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    xs.push(performance.now() - t0);
  }
  return xs.sort((a, b) => a - b)[Math.floor(reps / 2)];
}

function top(kernels: { name: string }[]): [string, number][] {
  const byName = new Map<string, number>();
  for (const k of kernels) byName.set(k.name, (byName.get(k.name) ?? 0) + 1);
  return [...byName.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
}

/** Forward and backward overhead of `solvers` on `backend` (switches to it). */
export async function measureOverhead(
  backend: BackendName,
  solvers: Solvers = { odeint, odeintAdjoint },
  reps = 9,
  norm: NormName = "default",
  vjp: "tape" | "field" = "tape",
): Promise<Overhead> {
  await useBackend(backend);
  const { f, params, dispose } = mlp();
  const y0 = tf.randomNormal([BATCH, DIM], 0, 1, "float32", 4);
  const tEnd = 4;
  const opts = { rtol: 1e-5, atol: 1e-6 };
  const adjOpts = { rtol: 1e-4, atol: 1e-6, adjoint: { norm } };

  // Forward. Kernels outside f per step: a long solve minus a short one (so set-up, initial
  // step and output stacking cancel), minus f's own kernels (counted on one call).
  const fKernels = (await tf.profile(() => f(0, y0))).kernels.length;
  const countF = async (t1: number) => {
    let stats = { nfe: 0, nAccepted: 0, nRejected: 0 };
    const prof = await tf.profile(async () => {
      const sol = await solvers.odeint(f, y0, [0, t1], opts);
      stats = sol.stats;
      sol.ys.dispose();
    });
    return { stats, kernels: prof.kernels, steps: stats.nAccepted + stats.nRejected };
  };
  const shortF = await countF(tEnd / 2), longF = await countF(tEnd);
  const fMs = (await time(async () => {
    // 50 calls, read once at the end as a solve does per step.
    let out = f(0, y0);
    for (let i = 0; i < 49; i++) {
      const next = f(0, out);
      out.dispose();
      out = next;
    }
    await out.data();
    out.dispose();
  }, reps)) / 50;
  const solveMs = await time(async () => {
    const sol = await solvers.odeint(f, y0, [0, tEnd], opts);
    await sol.ys.data();
    sol.ys.dispose();
  }, reps);
  const forward: Figures = {
    nfe: longF.stats.nfe,
    steps: longF.steps,
    kernelsPerStep: ((longF.kernels.length - shortF.kernels.length) -
      (longF.stats.nfe - shortF.stats.nfe) * fKernels) / (longF.steps - shortF.steps),
    evalMs: fMs,
    solveMs,
    overhead: solveMs / (longF.stats.nfe * fMs),
    topKernels: top(longF.kernels),
  };

  // Backward: one bare VJP (by the tape, or mlpField's own on the same weights), then
  // backward() of an adjoint solve.
  const a = tf.randomNormal([BATCH, DIM], 0, 1, "float32", 5);
  const field = mlpField([{ kernel: params[0], bias: params[1] }, { kernel: params[2] }]);
  const bareVjp = vjp === "field"
    ? () =>
      tf.tidy(() => {
        const r = field.vjp(0, y0, a);
        return [r.value, r.y, ...r.params];
      })
    : () => {
      const r = tf.engine().gradients(() => f(0, y0), [y0, ...params], a, true);
      return [r.value, ...r.grads];
    };
  const backField = vjp === "field" ? field : f;
  const vjpKernels = (await tf.profile(() => bareVjp())).kernels.length;
  const vjpMs = (await time(async () => {
    let out = bareVjp();
    for (let i = 0; i < 49; i++) {
      tf.dispose(out);
      out = bareVjp();
    }
    await out[1].data();
    tf.dispose(out);
  }, reps)) / 50;
  const adjoint = async (t1: number) => {
    const sol = await solvers.odeintAdjoint(backField, y0, [0, t1], params, adjOpts);
    const g = tf.zeros([2, BATCH, DIM]).add(tf.oneHot([1], 2).reshape([2, 1, 1]));
    return { sol, g };
  };
  const countB = async (t1: number) => {
    const { sol, g } = await adjoint(t1);
    let stats = { nfe: 0, nAccepted: 0, nRejected: 0 };
    const prof = await tf.profile(async () => {
      const r = await sol.backward(g);
      stats = r.stats;
      tf.dispose([r.y0, r.params]);
    });
    tf.dispose([sol.ys, g]);
    return { stats, kernels: prof.kernels, steps: stats.nAccepted + stats.nRejected };
  };
  const shortB = await countB(tEnd / 2), longB = await countB(tEnd);
  const { sol, g } = await adjoint(tEnd);
  const backMs = await time(async () => {
    const r = await sol.backward(g);
    await r.params[0].data();
    tf.dispose([r.y0, r.params]);
  }, reps);
  tf.dispose([sol.ys, g, a, y0]);
  dispose();
  const backward: Figures = {
    nfe: longB.stats.nfe,
    steps: longB.steps,
    kernelsPerStep: ((longB.kernels.length - shortB.kernels.length) -
      (longB.stats.nfe - shortB.stats.nfe) * vjpKernels) / (longB.steps - shortB.steps),
    evalMs: vjpMs,
    solveMs: backMs,
    overhead: backMs / (longB.stats.nfe * vjpMs),
    topKernels: top(longB.kernels),
  };
  return { backend, forward, backward };
}

/** One table row of {@link Figures}. */
export function overheadRow(name: string, f: Figures): string {
  return `${name} | ${f.nfe} | ${f.steps} | ${f.kernelsPerStep.toFixed(1)} | ` +
    `${f.evalMs.toFixed(3)} | ${f.solveMs.toFixed(1)} | ${f.overhead.toFixed(2)}`;
}

if (import.meta.main) {
  const backends = (Deno.args.length > 0 ? Deno.args : ["cpu", "wasm"]) as BackendName[];
  console.log(
    `dopri5, MLP field ${DIM} → ${WIDTH} → ${DIM}, batch ${BATCH}, t ∈ [0, 4]; forward rtol ` +
      `1e-5, atol 1e-6; backward rtol 1e-4, atol 1e-6`,
  );
  console.log(
    "solve | NFE | steps | kernels/step outside f (or f+VJP) | eval (ms) | solve (ms) | overhead",
  );
  for (const b of backends) {
    const r = await measureOverhead(b);
    const semi = await measureOverhead(b, undefined, 9, "seminorm");
    const own = await measureOverhead(b, undefined, 9, "seminorm", "field");
    console.log(overheadRow(`${b} forward`, r.forward));
    console.log(
      `   most launched: ${r.forward.topKernels.map(([k, n]) => `${k}×${n}`).join(", ")}`,
    );
    console.log(overheadRow(`${b} backward, default norm`, r.backward));
    console.log(overheadRow(`${b} backward, seminorm`, semi.backward));
    console.log(overheadRow(`${b} backward, seminorm, mlpField's VJP`, own.backward));
    console.log(
      `   most launched: ${r.backward.topKernels.map(([k, n]) => `${k}×${n}`).join(", ")}`,
    );
  }
}
