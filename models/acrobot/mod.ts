/**
 * The acrobot experiment of "Hey, that's not an ODE" (Kidger, Chen & Lyons, 2021): the
 * fully-actuated acrobot's physics, its data set of windows under constant controls, the
 * Symplectic ODE-Net with control that learns it, and energy-shaping control with the learned
 * model.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import assert from "node:assert/strict";
 * import {
 *   loadAcrobotDataset,
 *   runEnergyShaping,
 *   Symoden,
 * } from "@fasterode/fasterode/models/acrobot";
 *
 * // A tiny data set and model (the experiment: defaults, i.e. 128 trials and widths 400/300).
 * const data = await loadAcrobotDataset({ trials: 10, steps: 9, cacheDir: false });
 * const model = new Symoden({ massHidden: 8, potentialHidden: 8, inputHidden: 8 });
 * const batch = tf.slice(data.train, [0, 0, 0], [4, -1, -1]);
 * const step = await model.step(batch, { adjoint: { norm: "seminorm" } });
 * console.log(step.loss, step.forward.nfe, step.backward.nfe);
 * tf.train.sgd(1e-3).applyGradients(step.grads);
 * tf.dispose([batch, step.grads]);
 *
 * // Swing-up with the (untrained) model on the true physics.
 * const traj = await runEnergyShaping(model, { duration: 0.1 });
 * assert.equal(traj.times.length, 3);
 * data.dispose();
 * model.dispose();
 * ```
 *
 * @module
 */
export {
  ACROBOT,
  type AcrobotConstants,
  acrobotDynamics,
  acrobotEnergy,
  type AcrobotSimulation,
  simulateAcrobot,
  type SimulateOptions,
} from "./physics.ts";
export {
  ACROBOT_CONTROLS,
  type AcrobotDataOptions,
  type AcrobotDataset,
  type AcrobotDataSettings,
  type AcrobotProgress,
  type AcrobotTrajectories,
  acrobotTrajectories,
  loadAcrobotDataset,
  OBSERVATION_CHANNELS,
  splitSizes,
  windowsOf,
} from "./dataset.ts";
export type { DenseLayer, MlpPass } from "./softplus_mlp.ts";
export {
  Symoden,
  type SymodenEvaluation,
  type SymodenNets,
  type SymodenOptions,
  type SymodenSolveOptions,
  type SymodenStepOptions,
  type SymodenTerms,
} from "./symoden.ts";
export {
  type ControlTrajectory,
  energyShapingControl,
  type EnergyShapingModel,
  type EnergyShapingOptions,
  runEnergyShaping,
  saveTrajectory,
  trueAcrobotModel,
  uprightVerdict,
} from "./control.ts";
export {
  paperCodeSeminorm,
  paperCodeSeminormChannels,
  type PaperCodeSeminormOptions,
  torchOrderPrefix,
} from "./paper_code_norm.ts";
// Types of the library and of models/ that appear in this module's signatures.
export type {
  AdjointNorm,
  AdjointNormSpec,
  AdjointOptions,
  AdjointState,
  MethodName,
  NormName,
  SolveStats,
  VjpField,
} from "../../mod.ts";
export type { StepResult } from "../mod.ts";
