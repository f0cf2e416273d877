/**
 * The settings of the demo (`deno task demo`): the spiral neural ODE trained with Adam once
 * per backward norm. {@link DEMO_SETTINGS} are the defaults the demo's table is known by
 * (200 iterations of 20 segments, width 128, dopri5 at rtol 1e-3 and atol 1e-8);
 * {@link resolveDemoSettings} checks overrides.
 *
 * Why these values: at width 128 the backward state is mostly parameter adjoints (642
 * parameters against 40 state scalars at the default batch of 20), which the default norm must
 * resolve and the seminorm need not.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEMO_SETTINGS, resolveDemoSettings } from "@fasterode/fasterode/experiments";
 * assert.deepEqual(resolveDemoSettings({ iters: 5 }), { ...DEMO_SETTINGS, iters: 5 });
 * ```
 *
 * @module
 */
import { resolvePreset } from "../harness/mod.ts";

/** The demo's settings; {@link DEMO_SETTINGS} gives all of them. */
export interface DemoSettings {
  /** Adam iterations per norm. */
  iters: number;
  /** Segments per batch. */
  batch: number;
  /** Samples spanned by a segment (41: t ∈ [0, 1]). */
  length: number;
  /** Keep every `stride`-th sample as an output time (20: outputs at 0, 0.5, 1). */
  stride: number;
  /** Hidden width of the model. */
  width: number;
  /** Relative tolerance of both solves. */
  rtol: number;
  /** Absolute tolerance of both solves. */
  atol: number;
}

/**
 * The demo's default settings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEMO_SETTINGS } from "@fasterode/fasterode/experiments";
 * assert.deepEqual([DEMO_SETTINGS.iters, DEMO_SETTINGS.rtol, DEMO_SETTINGS.atol], [200, 1e-3, 1e-8]);
 * ```
 */
export const DEMO_SETTINGS: Readonly<DemoSettings> = Object.freeze({
  iters: 200,
  batch: 20,
  length: 41,
  stride: 20,
  width: 128,
  rtol: 1e-3,
  atol: 1e-8,
});

/** Options of `runDemo`: any of {@link DEMO_SETTINGS} overridden, a seed and a progress hook. */
export interface DemoOptions extends Partial<DemoSettings> {
  /** Seed of weights and batches (default 0). */
  seed?: number;
  /** Called after every iteration (for a progress line). */
  onIteration?: (norm: string, iter: number, loss: number) => void;
  /**
   * Checkpoint folder (one sub-folder per norm): saved every `checkpointEvery` iterations, at
   * the end of each norm and on SIGINT/SIGTERM (after the current iteration). None by default.
   */
  checkpoint?: string;
  /** Continue the demo whose checkpoint folder this is (the same settings). */
  resume?: string;
  /** Iterations between checkpoints (default 50). */
  checkpointEvery?: number;
}

/**
 * {@link DEMO_SETTINGS} with the overrides in `options`, checked: integers ≥ 1 for the sizes,
 * numbers > 0 for the tolerances.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveDemoSettings } from "@fasterode/fasterode/experiments";
 * assert.equal(resolveDemoSettings({ width: 16 }).width, 16);
 * assert.throws(() => resolveDemoSettings({ iters: 0 }), /demo: iters must be an integer >= 1/);
 * ```
 *
 * @param options the demo's options (`seed` and `onIteration` are not settings)
 * @returns the settings
 * @throws {TypeError} On an unknown option. {RangeError} On a bad value.
 */
export function resolveDemoSettings(options: DemoOptions): DemoSettings {
  return resolvePreset({ small: DEMO_SETTINGS }, options, {
    experiment: "demo",
    options: ["seed", "onIteration", "checkpoint", "resume", "checkpointEvery"],
    integers: new Set(["iters", "batch", "length", "stride", "width"]),
  }).settings;
}
