/**
 * Continuous normalising flows (FFJORD): a time-conditioned MLP velocity field with its
 * Jacobian–vector products ({@link TimeMlp}), the divergence exactly or by Hutchinson's
 * estimator (`trace.ts`), the flow itself with RNODE's regularisers, trained through
 * `odeintAdjoint` ({@link Cnf}), the standard 2-D densities ({@link toyData}) and MNIST from
 * IDX files with FFJORD's dequantisation and logit transform (`mnist.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { seededRandom } from "@fasterode/fasterode/models/data";
 * import { Cnf, TimeMlp, toyData } from "@fasterode/fasterode/models/cnf";
 * const cnf = new Cnf(new TimeMlp({ dim: 2, hidden: [16, 16] }));
 * const x = toyData("moons", 8, seededRandom(0));
 * const { logp } = await cnf.logDensity(x, { rtol: 1e-4, atol: 1e-6 });
 * assert.ok(logp.dataSync().every(Number.isFinite));
 * tf.dispose([x, logp]);
 * cnf.dispose();
 * ```
 *
 * @module
 */
export {
  type CnfActivation,
  type CnfLayerKind,
  type CnfVelocity,
  TimeMlp,
  type TimeMlpOptions,
} from "./velocity.ts";
export {
  type Divergence,
  divergence,
  exactProbes,
  hutchinsonProbes,
  type ProbeNoise,
  type TraceEstimator,
} from "./trace.ts";
export {
  bitsPerDim,
  Cnf,
  type CnfDensity,
  type CnfOptions,
  type CnfSolveOptions,
  type CnfStepOptions,
} from "./cnf.ts";
export { TOY_DENSITIES, toyData, type ToyDensity } from "./toy_data.ts";
export {
  dequantize,
  type IdxArray,
  loadMnist,
  logitTransform,
  type MnistSplit,
  parseIdx,
} from "./mnist.ts";
export { normalSamples } from "./normal.ts";
export type { StepResult } from "../step.ts";
