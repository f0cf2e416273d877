import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { type NormName, odeintSync } from "../../../mod.ts";
import { Cnf, type CnfVelocity, TimeMlp } from "../../../models/cnf/mod.ts";

await tf.setBackend("cpu");

/**
 * The linear field `f(z) = z·A` with `A = [[a, b], [−b, a]]` (row vectors): the flow is
 * `z(t) = x·e^{at}·R(bt)`, a scaled rotation, so a Gaussian stays a Gaussian and everything has a
 * closed form.
 */
class LinearVelocity implements CnfVelocity {
  readonly dim = 2;
  readonly variables: tf.Variable[];
  readonly #A: tf.Variable;
  constructor(readonly a: number, readonly b: number) {
    this.#A = tf.tidy(() => tf.variable(tf.tensor2d([[a, b], [-b, a]]), true, `linear_${a}_${b}`));
    this.variables = [this.#A];
  }
  value(_t: number, z: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(z, this.#A) as tf.Tensor2D;
  }
  jvp(_t: number, z: tf.Tensor2D, v: tf.Tensor3D): { value: tf.Tensor2D; jv: tf.Tensor3D } {
    return tf.tidy(() => ({
      value: tf.matMul(z, this.#A) as tf.Tensor2D,
      jv: tf.reshape(tf.matMul(tf.reshape(v, [-1, 2]), this.#A), v.shape) as tf.Tensor3D,
    }));
  }
}

Deno.test("change of variables: a linear flow's log-density and regularisers match the closed form", async () => {
  const before = tf.memory().numTensors;
  const a = -0.4, b = 1.3, T = 0.8;
  const cnf = new Cnf(new LinearVelocity(a, b), {
    time: T,
    kineticWeight: 1,
    jacobianWeight: 1,
  });
  const xs = [[0.5, -1.2], [2, 0.3], [-0.1, 0.05]];
  const x = tf.tensor2d(xs);
  const { logp } = await cnf.logDensity(x, { rtol: 1e-7, atol: 1e-9 });
  const got = logp.dataSync();
  // z(T) = x·e^{aT}·R(bT): ‖z(T)‖ = e^{aT}‖x‖, and tr A = 2a, so
  // log p(x) = log N(z(T)) + ∫tr A dt = −½e^{2aT}‖x‖² − log 2π + 2aT (a Gaussian density).
  xs.forEach((p, i) => {
    const r2 = p[0] ** 2 + p[1] ** 2;
    const want = -0.5 * Math.exp(2 * a * T) * r2 - Math.log(2 * Math.PI) + 2 * a * T;
    // float32 state at rtol 1e-7: ~1e-6 relative; 1e-4 absolute is the float32 floor here.
    assert.ok(Math.abs(got[i] - want) < 1e-4, `x ${p}: ${got[i]} vs ${want}`);
  });
  // The regulariser channels: ∫‖zA‖²dt = (a² + b²)‖x‖²(e^{2aT} − 1)/(2a), ∫‖A‖²_F dt = 2(a²+b²)T.
  const probes = cnf.probes(3);
  const y0 = cnf.initialState(x);
  const sol = odeintSync(cnf.dynamics(probes), y0, [0, T], { rtol: 1e-7, atol: 1e-9 });
  const kinetic = tf.tidy(() => tf.slice(sol.ys[2], [1, 0, 0], [1, 3, 1]).dataSync());
  const jac = tf.tidy(() => tf.slice(sol.ys[3], [1, 0, 0], [1, 3, 1]).dataSync());
  xs.forEach((p, i) => {
    const r2 = p[0] ** 2 + p[1] ** 2;
    const wantK = (a * a + b * b) * r2 * (Math.exp(2 * a * T) - 1) / (2 * a);
    assert.ok(
      Math.abs(kinetic[i] - wantK) < 1e-4 * Math.max(1, wantK),
      `${kinetic[i]} vs ${wantK}`,
    );
    assert.ok(Math.abs(jac[i] - 2 * (a * a + b * b) * T) < 1e-4);
  });
  tf.dispose([x, logp, sol.ys, probes, y0]);
  cnf.dispose();
  assert.equal(tf.memory().numTensors, before, "leaked tensors");
});

Deno.test("sampling inverts the flow: sample(z) then the forward flow returns z", async () => {
  const cnf = new Cnf(new TimeMlp({ dim: 2, hidden: [16, 16], seed: 3 }), { time: 0.5 });
  const z = cnf.baseSamples(6);
  const x = await cnf.sample(z, { rtol: 1e-6, atol: 1e-8 });
  const { ys } = await cnf.flow(x, [0, 0.5], { rtol: 1e-6, atol: 1e-8 });
  const back = tf.slice(ys, [1, 0, 0], [1, 6, 2]).reshape([6, 2]);
  // Two solves at rtol 1e-6 on O(1) values: 1e-4 is a wide margin for float32.
  const err = tf.max(tf.abs(tf.sub(back, z))).dataSync()[0];
  assert.ok(err < 1e-4, `round trip error ${err}`);
  // And the samples moved (the field is not the identity).
  assert.ok(tf.max(tf.abs(tf.sub(x, z))).dataSync()[0] > 1e-2);
  tf.dispose([z, x, ys, back]);
  cnf.dispose();
});

/** The CNF's loss by discretise-then-optimise: the solver's own operations under the tape. */
function dtoGrads(
  cnf: Cnf,
  x: tf.Tensor2D,
  probes: tf.Tensor3D,
  tol: { rtol: number; atol: number },
): { loss: number; grads: tf.NamedTensorMap } {
  const { value, grads } = tf.tidy(() =>
    tf.variableGrads(() => {
      const sol = odeintSync(cnf.dynamics(probes), cnf.initialState(x), [0, cnf.time], tol);
      let loss = tf.neg(tf.mean(cnf.logpFromOutputs(sol.ys)));
      if (cnf.kineticWeight > 0) {
        const e = tf.slice(sol.ys[2], [1, 0, 0], [1, -1, 1]);
        loss = tf.add(loss, tf.mul(cnf.kineticWeight, tf.mean(e)));
      }
      return loss as tf.Scalar;
    }, cnf.variables)
  );
  const loss = value.dataSync()[0];
  value.dispose();
  return { loss, grads };
}

for (const trace of ["exact", "hutchinson"] as const) {
  for (const norm of ["default", "seminorm"] as NormName[]) {
    Deno.test(`adjoint gradients match discretise-then-optimise (${trace} trace, ${norm})`, async () => {
      const cnf = new Cnf(new TimeMlp({ dim: 2, hidden: [8, 8], seed: 2, name: "dto" }), {
        trace,
        noise: "gaussian",
        kineticWeight: 0.1,
        seed: 5,
      });
      const x = tf.tensor2d([[0.5, -1], [1.5, 0.2], [-0.7, 0.9], [0, 0.1]]);
      const probes = cnf.probes(4);
      const tol = { rtol: 1e-6, atol: 1e-8 };
      const before = tf.memory().numTensors;
      const step = await cnf.step(x, { ...tol, probes, adjoint: { norm } });
      // Nothing of the step stays but its gradients (one per variable).
      assert.equal(tf.memory().numTensors, before + cnf.variables.length, "the step leaked");
      const dto = dtoGrads(cnf, x, probes, tol);
      assert.ok(Math.abs(step.loss - dto.loss) < 1e-5 * Math.max(1, Math.abs(dto.loss)));
      // Both are the true gradient to about the tolerance (the adjoint solves the continuous
      // adjoint, the tape differentiates the discrete solve); 1e-3 of the largest entry is
      // the float32 margin over rtol 1e-6 with ~100 steps of rounding.
      let scale = 0;
      for (const v of cnf.variables) {
        scale = Math.max(scale, tf.tidy(() => tf.max(tf.abs(dto.grads[v.name])).dataSync()[0]));
      }
      assert.ok(scale > 1e-3, "the gradient is not trivially zero");
      for (const v of cnf.variables) {
        const diff = tf.tidy(() =>
          tf.max(tf.abs(tf.sub(step.grads[v.name], dto.grads[v.name]))).dataSync()[0]
        );
        assert.ok(diff < 1e-3 * scale, `${v.name}: ${diff} (largest entry ${scale})`);
      }
      tf.dispose([step.grads, dto.grads]);
      assert.equal(tf.memory().numTensors, before, "the gradient computations leaked tensors");
      assert.ok(step.backward.nfe > 0 && step.forward.nfe > 0);
      tf.dispose([x, probes]);
      cnf.dispose();
    });
  }
}

Deno.test("the seminorm takes no more backward steps than the default norm on a CNF", async () => {
  // Not a timing claim: the seminorm measures a subset of the channels, so its error ratio is
  // never larger; on this wide field it needs fewer backward evaluations.
  const nfe: Record<string, number> = {};
  for (const norm of ["default", "seminorm"] as NormName[]) {
    const cnf = new Cnf(new TimeMlp({ dim: 2, hidden: [64, 64], seed: 1, name: "semi" }));
    const x = tf.tensor2d([[0.5, -1], [1.5, 0.2], [-0.7, 0.9], [0, 0.1]]);
    const step = await cnf.step(x, { rtol: 1e-4, atol: 1e-6, adjoint: { norm } });
    nfe[norm] = step.backward.nfe;
    tf.dispose([x, step.grads]);
    cnf.dispose();
  }
  assert.ok(nfe.seminorm <= nfe.default, JSON.stringify(nfe));
});

Deno.test("Cnf rejects unknown options and bad data with messages naming them", () => {
  const f = new TimeMlp({ dim: 2, hidden: [4] });
  assert.throws(() => new Cnf(f, { tarce: "exact" } as never), /Unknown Cnf option "tarce"/);
  assert.throws(() => new Cnf(f, { kineticWeight: -1 }), /kineticWeight must be a finite/);
  const cnf = new Cnf(f);
  const x = tf.zeros([3, 3]) as tf.Tensor2D;
  assert.throws(() => cnf.initialState(x), /x must be \[batch, 2\], got \[3,3\]/);
  x.dispose();
  cnf.dispose();
});
