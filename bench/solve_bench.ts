// `deno task bench`: wall time of a dopri5 forward solve and of one adjoint training step
// (forward + backward with each norm) for an MLP field (16 → 64 → 16, batch 256) on cpu and
// wasm. NFE per run and the kernel-level overhead are printed by bench/solver_overhead.ts and
// bench/adjoint_norms.ts; results are kept in bench/RESULTS.md.

import * as tf from "@tensorflow/tfjs";
import { type BackendName, useBackend } from "../backend.ts";
import { odeint } from "../solvers/odeint.ts";
import { odeintAdjoint } from "../adjoint/odeint_adjoint.ts";

function setup() {
  const v = (shape: number[], seed: number, scale: number) =>
    tf.tidy(() => tf.variable(tf.randomNormal(shape, 0, scale, "float32", seed)));
  const W1 = v([16, 64], 1, 0.25), b1 = v([64], 2, 0.1), W2 = v([64, 16], 3, 0.125);
  const params = [W1, b1, W2];
  const f = (_t: number, y: tf.Tensor) =>
    tf.tidy(() => tf.matMul(tf.tanh(tf.add(tf.matMul(y as tf.Tensor2D, W1), b1)), W2));
  const y0 = tf.randomNormal([256, 16], 0, 1, "float32", 4);
  const dLdys = tf.randomNormal([2, 256, 16], 0, 1, "float32", 5);
  return { f, params, y0, dLdys };
}

for (const backend of ["cpu", "wasm"] as BackendName[]) {
  let ctx: ReturnType<typeof setup> | undefined;
  const prepare = async () => {
    if (tf.getBackend() !== backend || ctx === undefined) {
      await useBackend(backend);
      ctx = setup();
    }
    return ctx;
  };
  Deno.bench({
    name: `${backend}: dopri5 forward solve, t ∈ [0, 2], rtol 1e-5`,
    group: `forward-${backend}`,
    async fn() {
      const { f, y0 } = await prepare();
      const sol = await odeint(f, y0, [0, 2], { rtol: 1e-5, atol: 1e-6 });
      await sol.ys.data();
      sol.ys.dispose();
    },
  });
  for (const norm of ["default", "seminorm"] as const) {
    Deno.bench({
      name: `${backend}: adjoint forward + backward, ${norm} norm, rtol 1e-3, atol 1e-8`,
      group: `adjoint-${backend}`,
      baseline: norm === "default",
      async fn() {
        const { f, params, y0, dLdys } = await prepare();
        const sol = await odeintAdjoint(f, y0, [0, 1], params, {
          rtol: 1e-3,
          atol: 1e-8,
          adjoint: { norm },
        });
        const g = await sol.backward(dLdys);
        await g.params[0].data();
        tf.dispose([sol.ys, g.y0, g.params]);
      },
    });
  }
}
