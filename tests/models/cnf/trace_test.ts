import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { seededRandom } from "../../../models/data/mod.ts";
import { divergence, exactProbes, hutchinsonProbes, TimeMlp } from "../../../models/cnf/mod.ts";

await tf.setBackend("cpu");

/** The Jacobian `[D][D]` of `f(t, ·)` at the row `z` by central differences, in float64 sums. */
function finiteDifferenceJacobian(f: TimeMlp, t: number, z: number[], h: number): number[][] {
  const D = z.length;
  const J = Array.from({ length: D }, () => new Array(D).fill(0));
  for (let j = 0; j < D; j++) {
    const plus = [...z], minus = [...z];
    plus[j] += h;
    minus[j] -= h;
    const fp = tf.tidy(() => f.value(t, tf.tensor2d([plus])).dataSync());
    const fm = tf.tidy(() => f.value(t, tf.tensor2d([minus])).dataSync());
    for (let i = 0; i < D; i++) J[i][j] = (fp[i] - fm[i]) / (2 * h);
  }
  return J;
}

for (const layer of ["concatsquash", "concat"] as const) {
  for (const activation of ["tanh", "softplus"] as const) {
    Deno.test(`exact divergence and Jacobian norm match finite differences (${layer}, ${activation})`, () => {
      const before = tf.memory().numTensors;
      const f = new TimeMlp({ dim: 3, hidden: [16, 16], layer, activation, seed: 4 });
      const z = [0.3, -0.7, 1.1];
      const t = 0.37;
      // Central differences in float32: truncation ~h²·f‴ ≈ 1e-5 at h = 1e-2, rounding
      // ~1e-7/h = 1e-5 per entry; 2e-3 on a trace of three O(1) entries leaves a wide margin
      // while a wrong layer formula (e.g. a missing gate) is off by O(0.1).
      const J = finiteDifferenceJacobian(f, t, z, 1e-2);
      const trFd = J[0][0] + J[1][1] + J[2][2];
      const frobFd = J.flat().reduce((a, b) => a + b * b, 0);
      const x = tf.tensor2d([z]);
      const v = exactProbes(1, 3);
      const d = divergence(f, t, x, v, "exact");
      const tr = d.trace.dataSync()[0];
      const frob = d.frobenius.dataSync()[0];
      assert.ok(Math.abs(tr - trFd) < 2e-3, `trace ${tr} vs finite differences ${trFd}`);
      assert.ok(Math.abs(frob - frobFd) < 2e-3 * Math.max(1, frobFd), `${frob} vs ${frobFd}`);
      // And the full Jacobian column by column (J e_k is column k).
      const r = f.jvp(t, x, v);
      const jv = r.jv.arraySync()[0];
      for (let k = 0; k < 3; k++) {
        for (let i = 0; i < 3; i++) assert.ok(Math.abs(jv[k][i] - J[i][k]) < 2e-3);
      }
      tf.dispose([x, v, d.value, d.trace, d.frobenius, r.value, r.jv]);
      f.dispose();
      assert.equal(tf.memory().numTensors, before, "leaked tensors");
    });
  }
}

for (const noise of ["rademacher", "gaussian"] as const) {
  Deno.test(`Hutchinson's estimate is unbiased (${noise} probes)`, () => {
    const f = new TimeMlp({ dim: 4, hidden: [32], seed: 1 });
    const z = tf.tensor2d([[0.5, -0.2, 0.9, -1.3]]);
    const exact = divergence(f, 0.2, z, exactProbes(1, 4), "exact");
    const trueTrace = exact.trace.dataSync()[0];
    const trueFrob = exact.frobenius.dataSync()[0];
    // 4000 draws at one point: every estimate εᵀJε (and ‖Jε‖²) from one probe each.
    const n = 4000;
    const v = hutchinsonProbes(1, n, 4, noise, seededRandom(7));
    const { jv } = f.jvp(0.2, z, v);
    const traces = tf.sum(tf.mul(jv, v), 2).dataSync();
    const frobs = tf.sum(tf.square(jv), 2).dataSync();
    const meanSe = (xs: ArrayLike<number>) => {
      const a = Array.from(xs);
      const m = a.reduce((s, x) => s + x, 0) / a.length;
      const var_ = a.reduce((s, x) => s + (x - m) ** 2, 0) / (a.length - 1);
      return [m, Math.sqrt(var_ / a.length), Math.sqrt(var_)];
    };
    const [mt, set, sdt] = meanSe(traces);
    const [mf, sef] = meanSe(frobs);
    // Unbiased: the mean of the draws lies within 4 standard errors of the exact value (a
    // biased estimator, e.g. probes without unit variance, misses by far more at n = 4000).
    assert.ok(Math.abs(mt - trueTrace) < 4 * set, `${mt} ± ${set} vs ${trueTrace}`);
    assert.ok(Math.abs(mf - trueFrob) < 4 * sef, `${mf} ± ${sef} vs ${trueFrob}`);
    // The draws do vary (the test is not comparing the exact trace with itself).
    assert.ok(sdt > 1e-3);
    // Divergence's own Hutchinson mode is the mean over the probes.
    const d = divergence(f, 0.2, z, v, "hutchinson");
    assert.ok(Math.abs(d.trace.dataSync()[0] - mt) < 1e-3 * Math.max(1, Math.abs(mt)));
    tf.dispose([
      z,
      v,
      jv,
      exact.value,
      exact.trace,
      exact.frobenius,
      d.value,
      d.trace,
      d.frobenius,
    ]);
    f.dispose();
  });
}
