/**
 * Neural controlled differential equations: interpolation of irregular, partly missing time
 * series into control paths (linear, rectilinear, Hermite cubic with backward differences,
 * natural cubic), `cdeint`, the paper's `NeuralCDE` classifier, and its data: MFCC features,
 * Speech Commands (WAV codec, download, stratified split, cached loader) and a synthetic
 * stand-in spoken by espeak-ng.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { cdeint, linearInterpolation } from "@fasterode/fasterode/models/cde";
 * // z' = z · dX/dt with a scalar path: z(T) = z0 · exp(X(T) − X(t0)).
 * const x = tf.tensor3d([[[0], [0.5], [0.2], [1]]]);
 * const X = await linearInterpolation(x, [0, 1, 1.5, 3]);
 * const z0 = tf.tensor2d([[2]]);
 * const sol = await cdeint(X, (_t, z) => tf.reshape(z, [1, 1, 1]), z0, [0, 3], {
 *   adjoint: false,
 *   rtol: 1e-7,
 *   atol: 1e-8,
 * });
 * assert.ok(Math.abs((await sol.ys.data())[1] - 2 * Math.E) < 1e-4);
 * tf.dispose([x, z0, sol.ys]);
 * X.dispose();
 * ```
 *
 * @module
 */
export {
  checkKnots,
  checkPath,
  CubicSpline,
  type Interpolation,
  pieceOf,
  type PiecewiseOptions,
  PiecewisePolynomial,
} from "./control_path.ts";
export { fillMissing, readFilledPath, readPath } from "./missing.ts";
export { LinearInterpolation, linearInterpolation, linearInterpolationCoeffs } from "./linear.ts";
export { rectilinearInterpolation, rectilinearInterpolationCoeffs } from "./rectilinear.ts";
export { hermiteCubicCoeffs, hermiteCubicInterpolation } from "./hermite.ts";
export { naturalCubicCoeffs, naturalCubicSpline } from "./natural_cubic.ts";
export { cdeint, type CdeintOptions, type CdeVectorField, cdeVectorField } from "./cdeint.ts";
export { withCdeVjp } from "./cde_field.ts";
export {
  NeuralCDE,
  type NeuralCDEEvaluation,
  type NeuralCDEOptions,
  type NeuralCDESolveOptions,
  type NeuralCDEStepOptions,
} from "./neural_cde.ts";
export {
  dctMatrix,
  frameCount,
  frameSignals,
  hannWindow,
  logMelSpectrogram,
  melFilterbank,
  mfcc,
  type MfccConfig,
  mfccConfig,
  type MfccOptions,
  powerSpectrogram,
} from "./mfcc.ts";
export { decodeWav, encodeWav, type WavClip } from "./wav.ts";
export {
  type DownloadOptions,
  downloadSpeechCommands,
  SPEECH_COMMANDS_URL,
  type SpeechDataRemedies,
  SpeechDataUnavailableError,
} from "./download.ts";
export { type SplitIndices, type SplitOptions, stratifiedSplit } from "./split.ts";
export {
  CLIP_SAMPLES,
  type LabelledSplit,
  loadSpeechCommands,
  SAMPLE_RATE,
  SPEECH_COMMANDS_CLASSES,
  type SpeechCommandsData,
  type SpeechCommandsOptions,
} from "./speech_commands.ts";
export { resample, type ResampleOptions } from "./resample.ts";
export {
  type ClipRecipe,
  clipRecipe,
  composeClip,
  type EnsureSyntheticOptions,
  ensureSyntheticSpeech,
  ESPEAK_VARIANTS,
  ESPEAK_VOICES,
  espeakAvailable,
  generateSyntheticSpeech,
  type SyntheticSpeechOptions,
  type SyntheticSpeechResult,
  type SyntheticSpeechSet,
} from "./synthetic_speech.ts";
// Types of the library and of models/ that appear in this module's signatures.
export type {
  AdjointGradients,
  AdjointOptions,
  AdjointSolution,
  ControllerOptions,
  FailureInfo,
  Norm,
  NormName,
  OdeintOptions,
  OdeSolution,
  OdeSolveError,
  SolveStats,
  SolveStatus,
  State,
} from "../../mod.ts";
export type { StepResult } from "../mod.ts";
