/**
 * fasterode: neural ordinary and controlled differential equations on TensorFlow.js, with
 * adaptive Runge–Kutta solvers, the adjoint method and the seminorm that makes backward solves
 * cheaper ("Hey, that's not an ODE: Faster ODE Adjoints via Seminorms", Kidger, Chen & Lyons,
 * ICML 2021).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { odeint } from "@fasterode/fasterode";
 *
 * // A harmonic oscillator as a tuple state [x, v]: x'' = -x.
 * const sol = await odeint(
 *   (_t, [x, v]) => [v, tf.neg(x)],
 *   [tf.tensor([1]), tf.tensor([0])],
 *   [0, Math.PI / 2, Math.PI],
 *   { rtol: 1e-6, atol: 1e-8 },
 * );
 * const x = await sol.ys[0].data();    // cos t at the three times
 * assert.ok(Math.abs(x[2] + 1) < 1e-4);
 * console.log(sol.stats);               // { nfe, nAccepted, nRejected }
 * tf.dispose(sol.ys);
 * ```
 *
 * @module
 */
export * from "./solvers/mod.ts";
export * from "./adjoint/mod.ts";
export * from "./fields/mod.ts";
export {
  FAST_WASM_KERNELS,
  fastWasmKernelsInstalled,
  installFastWasmKernels,
  restoreStockWasmKernels,
} from "./kernels/mod.ts";
export {
  type BackendChoice,
  type BackendName,
  chooseBackend,
  type ChooseBackendOptions,
  hasHardwareGpu,
  useBackend,
  type UseBackendOptions,
} from "./backend.ts";
