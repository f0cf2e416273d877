import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { seededRandom } from "../../../models/data/mod.ts";
import { Cnf, TimeMlp, toyData } from "../../../models/cnf/mod.ts";

await tf.setBackend("cpu");

Deno.test("a trained 2-D flow's density integrates to 1 on a grid (within 2%)", async () => {
  const before = tf.memory().numTensors;
  const cnf = new Cnf(new TimeMlp({ dim: 2, hidden: [16, 16], seed: 0, name: "density" }));
  const optimizer = tf.train.adam(5e-3);
  const random = seededRandom(1);
  const tol = { rtol: 1e-4, atol: 1e-6 };
  let first = NaN, last = NaN;
  for (let it = 0; it < 25; it++) {
    const x = toyData("8gaussians", 64, random);
    const step = await cnf.step(x, { ...tol, adjoint: { norm: "seminorm" } });
    optimizer.applyGradients(step.grads as Parameters<typeof optimizer.applyGradients>[0]);
    tf.dispose([x, step.grads]);
    if (it === 0) first = step.loss;
    last = step.loss;
  }
  // Training did something: the NLL of the 8 Gaussians fell (from ~4.9 nats at the start).
  assert.ok(last < first - 0.3, `NLL ${first} → ${last}`);
  // The midpoint rule on [−6, 6]² with h = 0.15: the data (radius 2.83, std 0.35) and the
  // flowed base mass lie well inside, and the density varies on a scale of ~0.35, so the rule's
  // error is far below the 2% asked for; a wrong sign of the divergence (or a missing term)
  // gives a total off by tens of percent.
  const n = 80, lo = -6, h = 12 / n;
  const pts: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) pts.push(lo + (i + 0.5) * h, lo + (j + 0.5) * h);
  }
  const grid = tf.tensor2d(pts, [n * n, 2]);
  const { logp } = await cnf.logDensity(grid, tol);
  const mass = tf.tidy(() => tf.sum(tf.exp(logp)).dataSync()[0]) * h * h;
  console.log(`NLL ${first.toFixed(3)} → ${last.toFixed(3)}; mass on the grid ${mass}`);
  assert.ok(Math.abs(mass - 1) < 0.02, `the density integrates to ${mass}`);
  tf.dispose([grid, logp]);
  optimizer.dispose();
  cnf.dispose();
  assert.equal(tf.memory().numTensors, before, "leaked tensors");
});
