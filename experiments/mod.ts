/**
 * The experiments layer: the training harness every experiment shares (`./harness/mod.ts`:
 * {@link train}, {@link compareNorms}, presets, command lines, tables) and the experiments
 * built on it: the Neural CDE on Speech Commands ({@link runCdeExperiment}, `deno task cde`),
 * the acrobot ({@link runAcrobotExperiment}, `deno task acrobot`), the continuous normalising
 * flow ({@link runCnfExperiment}, `deno task cnf`) and the spiral demo ({@link runDemo},
 * `deno task demo`). Each experiment is a folder with its settings, run,
 * report and command line; adding one means writing a settings file and a step function and
 * handing them to {@link compareNorms}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   ACROBOT_PRESETS,
 *   CDE_PRESETS,
 *   DEMO_SETTINGS,
 *   resolveComparison,
 * } from "@fasterode/fasterode/experiments";
 * assert.deepEqual(resolveComparison("any", {}).norms, ["default", "seminorm"]);
 * assert.equal(CDE_PRESETS.paper.hiddenChannels, 90);
 * assert.equal(ACROBOT_PRESETS.paper.massHidden, 400);
 * assert.equal(DEMO_SETTINGS.iters, 200);
 * ```
 *
 * @module
 */
export * from "./harness/mod.ts";
export * from "./cde/mod.ts";
export * from "./acrobot/mod.ts";
export * from "./spiral/mod.ts";
export * from "./cnf/mod.ts";
