/**
 * Solver overhead on an MLP vector field (width 64, batch 256, state 2 → 64 → 2 … as
 * `[256, 16]`): tfjs kernels launched per dopri5 step outside `f` (marginal: a long solve minus a
 * short one, so one-off set-up cancels), and the overhead factor
 * `solve time / (NFE × time of one bare f call)`, on each backend given.
 *
 * ```sh
 * deno run -A bench/solver_overhead.ts            # cpu and wasm
 * deno run -A bench/solver_overhead.ts webgpu
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type BackendName, useBackend } from "../backend.ts";
import { odeint } from "../solvers/odeint.ts";

const BATCH = 256, DIM = 16, WIDTH = 64;

function mlpField(): { f: (t: number, y: tf.Tensor) => tf.Tensor; dispose: () => void } {
  const W1 = tf.randomNormal([DIM, WIDTH], 0, 1 / Math.sqrt(DIM), "float32", 1);
  const b1 = tf.randomNormal([WIDTH], 0, 0.1, "float32", 2);
  const W2 = tf.randomNormal([WIDTH, DIM], 0, 1 / Math.sqrt(WIDTH), "float32", 3);
  const f = (_t: number, y: tf.Tensor) =>
    tf.tidy(() => tf.matMul(tf.tanh(tf.add(tf.matMul(y as tf.Tensor2D, W1), b1)), W2));
  return { f, dispose: () => tf.dispose([W1, b1, W2]) };
}

async function measure(backend: BackendName) {
  await useBackend(backend);
  const { f, dispose } = mlpField();
  const y0 = tf.randomNormal([BATCH, DIM], 0, 1, "float32", 4);
  const ts = [0, 4];
  const opts = { rtol: 1e-5, atol: 1e-6 };
  // Kernels outside f per step: the difference between a long and a short solve (so set-up,
  // initial step and output stacking cancel), minus f's own kernels (counted on one call).
  const fKernels = (await tf.profile(() => f(0, y0))).kernels.length;
  const count = async (tEnd: number) => {
    let stats = { nfe: 0, nAccepted: 0, nRejected: 0 };
    const prof = await tf.profile(async () => {
      const sol = await odeint(f, y0, [0, tEnd], opts);
      stats = sol.stats;
      sol.ys.dispose();
    });
    return { stats, kernels: prof.kernels, steps: stats.nAccepted + stats.nRejected };
  };
  const short = await count(ts[1] / 2), long = await count(ts[1]);
  const stats = long.stats, steps = long.steps, prof = long;
  const outside = (long.kernels.length - short.kernels.length) -
    (long.stats.nfe - short.stats.nfe) * fKernels;
  const marginalSteps = long.steps - short.steps;
  const byName = new Map<string, number>();
  for (const k of prof.kernels) byName.set(k.name, (byName.get(k.name) ?? 0) + 1);

  // Timing: warm up, then the median of repeated runs.
  const time = async (fn: () => Promise<void>, reps: number) => {
    await fn();
    const xs: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      await fn();
      xs.push(performance.now() - t0);
    }
    return xs.sort((a, b) => a - b)[Math.floor(reps / 2)];
  };
  const fTime = (await time(async () => {
    // 50 calls, read once at the end as a solve does per step.
    let out = f(0, y0);
    for (let i = 0; i < 49; i++) {
      const next = f(0, out);
      out.dispose();
      out = next;
    }
    await out.data();
    out.dispose();
  }, 9)) / 50;
  const solveTime = await time(async () => {
    const sol = await odeint(f, y0, ts, opts);
    await sol.ys.data();
    sol.ys.dispose();
  }, 9);
  tf.dispose(y0);
  dispose();
  return {
    backend,
    nfe: stats.nfe,
    steps,
    kernelsPerStep: outside / marginalSteps,
    fMs: fTime,
    solveMs: solveTime,
    overhead: solveTime / (stats.nfe * fTime),
    topKernels: [...byName.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8),
  };
}

if (import.meta.main) {
  const backends = (Deno.args.length > 0 ? Deno.args : ["cpu", "wasm"]) as BackendName[];
  console.log(
    `dopri5, MLP field ${DIM} → ${WIDTH} → ${DIM}, batch ${BATCH}, t ∈ [0, 4], rtol 1e-5, atol 1e-6`,
  );
  console.log(
    "backend | NFE | steps | kernels/step outside f | f call (ms) | solve (ms) | overhead",
  );
  for (const b of backends) {
    const r = await measure(b);
    console.log(
      `${r.backend} | ${r.nfe} | ${r.steps} | ${r.kernelsPerStep.toFixed(1)} | ${
        r.fMs.toFixed(3)
      } | ` +
        `${r.solveMs.toFixed(1)} | ${r.overhead.toFixed(2)}`,
    );
    console.log(`   most launched: ${r.topKernels.map(([k, n]) => `${k}×${n}`).join(", ")}`);
  }
}
