/**
 * Peak live memory of a solve, as a multiple of the state's bytes: `deno run -A
 * bench/peak_memory.ts [backend] [n] [method] [case] [outputs]` (defaults cpu, 100000, dopri5,
 * forward, 3 output times evenly over [0, 1]).
 *
 * Cases: `forward` (odeint), `adjoint` (odeintAdjoint's backward solve, VJP from the tape) and
 * `adjoint-vjp` (the same with the field's hand-written VJP, as `mlpField` and the models use).
 * For the adjoint cases the figure is the backward solve's own memory: the peak above what is
 * live when `backward` is called (the forward outputs and dL/dys, one state per output time
 * each, are the caller's and not counted; the gradient returned is).
 *
 * Live memory is tracked on every tensor allocation (the engine's `trackTensor`, wrapped here),
 * so the peak is exact, not sampled. Two figures: tensor bytes (`tf.memory().numBytes`, which
 * counts a reshaped view of a buffer again) and buffer bytes (distinct data buffers: what the
 * backend actually holds, apart from a kernel's own scratch space). The field is elementwise,
 * `f(y) = −θ·tanh(y)` with one scalar parameter θ, so what is measured is the solver's (and the
 * adjoint's) own memory plus the field's intermediates.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type MethodName, odeint, odeintAdjoint, useBackend, withVjp } from "../mod.ts";

const backend = Deno.args[0] ?? "cpu";
const n = Number(Deno.args[1] ?? 100000);
const method = (Deno.args[2] ?? "dopri5") as MethodName;
const kind = Deno.args[3] ?? "forward";
const nOut = Number(Deno.args[4] ?? 3);
if (!["forward", "adjoint", "adjoint-vjp"].includes(kind)) {
  throw new TypeError(`case must be forward, adjoint or adjoint-vjp, got "${kind}"`);
}
await useBackend(backend as never);

// Live bytes, tracked on every allocation and free.
type Info = { bytes: number; backend: unknown };
const engine = tf.engine() as unknown as {
  state: { numBytes: number; tensorInfo: WeakMap<object, Info> };
  trackTensor(a: tf.Tensor, backend: unknown): void;
  removeDataId(dataId: object, backend: unknown): void;
};
let buffers = 0; // bytes of the distinct data buffers alive
let base = { tensor: 0, buffer: 0 };
let peak = { tensor: 0, buffer: 0 };
const sample = () => {
  peak.tensor = Math.max(peak.tensor, engine.state.numBytes - base.tensor);
  peak.buffer = Math.max(peak.buffer, buffers - base.buffer);
};
const trackTensor = engine.trackTensor.bind(engine);
engine.trackTensor = (a, b) => {
  const fresh = !engine.state.tensorInfo.has(a.dataId);
  trackTensor(a, b);
  if (fresh) buffers += engine.state.tensorInfo.get(a.dataId)?.bytes ?? 0;
  sample();
};
const removeDataId = engine.removeDataId.bind(engine);
engine.removeDataId = (id, b) => {
  const info = engine.state.tensorInfo.get(id);
  if (info !== undefined && info.backend === b) buffers -= info.bytes;
  removeDataId(id, b);
};
const startMeasuring = () => {
  base = { tensor: engine.state.numBytes, buffer: buffers };
  peak = { tensor: 0, buffer: 0 };
};

const theta = tf.tidy(() => tf.variable(tf.scalar(1), true, "theta"));
const plain = (_t: number, y: tf.Tensor) => tf.mul(tf.neg(theta), tf.tanh(y));
// aᵀ∂f/∂y = −θ·a·(1 − tanh²y), aᵀ∂f/∂θ = −Σ a·tanh y.
const field = withVjp(plain, [theta], (_t, y, a) =>
  tf.tidy(() => {
    const th = tf.tanh(y);
    return {
      value: tf.mul(tf.neg(theta), th),
      y: tf.mul(tf.mul(tf.neg(theta), a), tf.sub(1, tf.square(th))),
      params: [tf.neg(tf.sum(tf.mul(a, th)))],
    };
  }));
const y0 = tf.randomNormal([n], 0, 1, "float32", 1);
const stateBytes = 4 * n;
const ts = Array.from({ length: nOut }, (_, i) => i / (nOut - 1));
const options = { method, rtol: 1e-5 };
let steps: number;
let nfe: number;
if (kind === "forward") {
  startMeasuring();
  const sol = await odeint(plain, y0, ts, options);
  steps = sol.stats.nAccepted;
  nfe = sol.stats.nfe;
  tf.dispose(sol.ys);
} else {
  const sol = await odeintAdjoint(kind === "adjoint" ? plain : field, y0, ts, [theta], options);
  const dLdys = tf.onesLike(sol.ys);
  startMeasuring();
  const g = await sol.backward(dLdys);
  steps = g.stats.nAccepted;
  nfe = g.stats.nfe;
  tf.dispose([sol.ys, dLdys, g.y0, g.params]);
}
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const times = (bytes: number) => `${(bytes / stateBytes).toFixed(1)}×`;
console.log(
  `${backend} ${method} ${kind} n=${n} outputs=${nOut}: peak live ${
    times(peak.buffer)
  } the state in buffers ` +
    `(${mb(peak.buffer)}), ${times(peak.tensor)} in tensor bytes (${mb(peak.tensor)}); ` +
    `${steps} steps, NFE ${nfe}`,
);
tf.dispose([y0, theta]);
