/**
 * Backward NFE with each adjoint norm, and wall time per training step, for the demo problem
 * (spiral neural ODE, 642 parameters) and a larger field (MLP 16 → 256 → 256 → 16, batch 64,
 * 70k parameters), on each backend given.
 *
 * ```sh
 * deno run -A bench/adjoint_norms.ts          # cpu and wasm
 * deno run -A bench/adjoint_norms.ts wasm 20  # one backend, 20 steps per norm
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type BackendName, useBackend } from "../backend.ts";
import { adjointValueAndGrads } from "../adjoint/value_and_grads.ts";
import { odeintAdjoint } from "../adjoint/odeint_adjoint.ts";
import { seededRandom } from "../models/data/mod.ts";
import { sampleBatch, spiralData, SpiralODE } from "../models/spiral/mod.ts";

interface Row {
  problem: string;
  norm: string;
  forward: number;
  backward: number;
  msPerStep: number;
}

async function spiral(steps: number): Promise<Row[]> {
  const data = await spiralData();
  const rows: Row[] = [];
  for (const norm of ["default", "seminorm"] as const) {
    const model = new SpiralODE({ width: 128, seed: 0 });
    const opt = tf.train.sgd(0.05);
    const random = seededRandom(1);
    let forward = 0, backward = 0;
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) {
      const b = sampleBatch(data, 20, 41, random, 20);
      const r = await model.lossAndGrads(b.y0, b.ts, b.target, {
        rtol: 1e-3,
        atol: 1e-8,
        adjoint: { norm },
      });
      opt.applyGradients(r.grads);
      forward += r.forward.nfe;
      backward += r.backward.nfe;
      tf.dispose([b.y0, b.target, r.grads]);
    }
    rows.push({
      problem: "spiral (642 params)",
      norm,
      forward: forward / steps,
      backward: backward / steps,
      msPerStep: (performance.now() - t0) / steps,
    });
    model.dispose();
  }
  data.ys.dispose();
  return rows;
}

async function largeMlp(steps: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (const norm of ["default", "seminorm"] as const) {
    const lin = (i: number, o: number, seed: number) =>
      tf.tidy(() => [
        tf.variable(tf.randomUniform([i, o], -1 / Math.sqrt(i), 1 / Math.sqrt(i), "float32", seed)),
        tf.variable(
          tf.randomUniform([o], -1 / Math.sqrt(i), 1 / Math.sqrt(i), "float32", seed + 1),
        ),
      ]);
    const vars = [...lin(16, 256, 1), ...lin(256, 256, 3), ...lin(256, 16, 5)];
    const [W1, b1, W2, b2, W3, b3] = vars;
    const f = (_t: number, y: tf.Tensor) =>
      tf.tidy(() => {
        const h1 = tf.tanh(tf.add(tf.matMul(y as tf.Tensor2D, W1), b1));
        const h2 = tf.tanh(tf.add(tf.matMul(h1, W2), b2));
        return tf.add(tf.matMul(h2, W3), b3);
      });
    const x = tf.randomNormal([64, 16], 0, 1, "float32", 7);
    const target = tf.randomNormal([64, 16], 0, 1, "float32", 8);
    const opt = tf.train.sgd(0.01);
    let forward = 0, backward = 0;
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) {
      const r = await adjointValueAndGrads({
        before: () => x,
        solve: (y0) =>
          odeintAdjoint(f, y0, [0, 1], vars, { rtol: 1e-3, atol: 1e-8, adjoint: { norm } }),
        after: (ys) =>
          tf.sum(tf.square(tf.sub(tf.squeeze(tf.slice(ys, 1, 1), [0]), target))) as tf.Scalar,
      }, vars as tf.Variable[]);
      opt.applyGradients(r.grads);
      forward += r.forward.nfe;
      backward += r.backward.nfe;
      tf.dispose(r.grads);
    }
    rows.push({
      problem: "MLP 16-256-256-16 (70k params)",
      norm,
      forward: forward / steps,
      backward: backward / steps,
      msPerStep: (performance.now() - t0) / steps,
    });
    tf.dispose([...vars, x, target]);
  }
  return rows;
}

if (import.meta.main) {
  const backends = (Deno.args[0] ? [Deno.args[0]] : ["cpu", "wasm"]) as BackendName[];
  const steps = Number(Deno.args[1] ?? 20);
  console.log(`${steps} training steps per norm; dopri5 rtol 1e-3, atol 1e-8; mean per step`);
  console.log(
    "backend | problem | norm | forward NFE | backward NFE | backward saving | ms per step",
  );
  for (const backend of backends) {
    await useBackend(backend);
    for (const rows of [await spiral(steps), await largeMlp(Math.max(3, steps / 4))]) {
      const base = rows[0].backward;
      for (const r of rows) {
        const saving = r.norm === "default" ? "" : `${(100 * (1 - r.backward / base)).toFixed(1)}%`;
        console.log(
          `${backend} | ${r.problem} | ${r.norm} | ${r.forward.toFixed(1)} | ` +
            `${r.backward.toFixed(1)} | ${saving} | ${r.msPerStep.toFixed(0)}`,
        );
      }
    }
  }
}
