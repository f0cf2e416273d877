/**
 * What tfjs 4.22 can and cannot differentiate twice: the facts behind Symoden's hand-written
 * derivatives (models/acrobot/symoden.ts). If a tfjs upgrade changes any of them, these tests
 * say so; the model itself only needs first-order gradients and does not depend on them.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";

await tf.setBackend("cpu");

const X = [0.3, -0.7, 1.1];

/** d²/dx² Σ f(x) by nesting tf.grad. */
async function second(f: (x: tf.Tensor) => tf.Tensor): Promise<number[]> {
  const x = tf.tensor(X);
  const g2 = tf.grad((v: tf.Tensor) => tf.sum(tf.grad((u: tf.Tensor) => tf.sum(f(u)))(v)))(x);
  const out = Array.from(await g2.data());
  tf.dispose([x, g2]);
  return out;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

Deno.test("ops whose gradient reuses their saved output cannot be differentiated twice", async () => {
  for (
    const [name, f] of [["tanh", tf.tanh], ["sigmoid", tf.sigmoid], ["exp", tf.exp], [
      "elu",
      tf.elu,
    ]] as const
  ) {
    await assert.rejects(
      second(f),
      /Cannot compute gradient of y=f\(x\) with respect to x/,
      `${name}: tfjs now differentiates it twice; revisit the notes in symoden.ts`,
    );
  }
});

Deno.test("…and inside a larger expression that path is silently dropped: log(1 + exp x)", async () => {
  // The true second derivative of log(1 + eˣ) is σ(x)(1 − σ(x)).
  const exact = X.map((x) => sigmoid(x) * (1 - sigmoid(x)));
  const composed = await second((x) => tf.log(tf.add(1, tf.exp(x))));
  composed.forEach((v, i) => assert.ok(Math.abs(v - exact[i]) > 0.1, `${v} ≈ ${exact[i]}?`));
});

Deno.test("ops whose gradient uses only their inputs differentiate twice correctly", async () => {
  const cases: [string, (x: tf.Tensor) => tf.Tensor, (x: number) => number][] = [
    ["softplus", tf.softplus, (x) => sigmoid(x) * (1 - sigmoid(x))],
    ["log1p", (x) => tf.log1p(tf.add(x, 2)), (x) => -1 / (x + 3) ** 2],
    ["sin", tf.sin, (x) => -Math.sin(x)],
    ["square∘square", (x) => tf.square(tf.square(x)), (x) => 12 * x * x],
    ["reciprocal", (x) => tf.reciprocal(tf.add(x, 2)), (x) => 2 / (x + 2) ** 3],
    ["logSigmoid", tf.logSigmoid, (x) => -sigmoid(x) * (1 - sigmoid(x))],
  ];
  for (const [name, f, d2] of cases) {
    const got = await second(f);
    got.forEach((v, i) => {
      const e = d2(X[i]);
      assert.ok(Math.abs(v - e) < 1e-5 * (1 + Math.abs(e)), `${name}[${i}]: ${v} vs ${e}`);
    });
  }
});

Deno.test("under an outer tape, an inner gradient also follows paths around its input", async () => {
  // F(x, a) = x·a with a = 2x computed before: the partial ∂F/∂x (a fixed) is a = 6 at x = 3.
  const x = tf.scalar(3);
  const a = tf.mul(x, 2);
  const [partial] = tf.grads((xi: tf.Tensor, ai: tf.Tensor) => tf.mul(xi, ai))([x, a]);
  assert.equal((await partial.data())[0], 6, "no outer tape: the partial derivative");
  // Inside tf.grad (as inside an adjoint's vector–Jacobian product) the same inner call records
  // onto the shared tape, sees x → a → F as well, and returns the total derivative 4x = 12; the
  // outer derivative is then 4 instead of d(a)/dx = 2. Nesting autodiff inside a vector field
  // (as the original Symplectic ODE-Net does) is therefore wrong in tfjs whenever the inner
  // inputs have tape history, which is always the case under the adjoint.
  let inner = NaN;
  const outer = tf.grad((xo: tf.Tensor) => {
    const ao = tf.mul(xo, 2);
    const [g] = tf.grads((xi: tf.Tensor, ai: tf.Tensor) => tf.mul(xi, ai))([xo, ao]);
    inner = g.dataSync()[0];
    return g;
  })(x);
  assert.equal(inner, 12);
  assert.equal((await outer.data())[0], 4);
  tf.dispose([x, a, partial, outer]);
});
