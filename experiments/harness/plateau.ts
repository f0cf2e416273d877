/**
 * A learning-rate schedule that cuts the rate when a loss stops improving, with the semantics of
 * PyTorch's `ReduceLROnPlateau` in its default mode (`min`, relative threshold, no cooldown).
 *
 * @module
 */

/** Options of {@link plateauSchedule}. */
export interface PlateauOptions {
  /** Multiplies the learning rate on a plateau (default 0.1). */
  factor?: number;
  /** Non-improving steps tolerated; the rate is cut on the next one (default 2). */
  patience?: number;
  /** Relative improvement needed: `loss < best·(1 − threshold)` (default 1e-4). */
  threshold?: number;
  /** Lower bound of the learning rate (default 0). */
  minLr?: number;
  /** A cut smaller than this is skipped (default 1e-8). */
  eps?: number;
}

/** State of a {@link plateauSchedule}. */
export interface PlateauSchedule {
  /**
   * Records `loss` and returns the learning rate to use from now on: `lr`, or `lr·factor`
   * (at least `minLr`) after more than `patience` steps in a row without improvement.
   */
  step(loss: number, lr: number): number;
  /** The best loss seen so far (`Infinity` before the first step). */
  readonly best: number;
  /** Steps since the last improvement (reset to 0 by a cut). */
  readonly badSteps: number;
}

const OPTION_KEYS = ["factor", "patience", "threshold", "minLr", "eps"];

/**
 * A ReduceLROnPlateau schedule. The training harness steps it with the training loss at every
 * metric epoch, as the paper's code does, so `patience` counts metric evaluations, not epochs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { plateauSchedule } from "@fasterode/fasterode/experiments";
 *
 * const schedule = plateauSchedule({ patience: 2, factor: 0.1 });
 * let lr = 1;
 * for (const loss of [5, 4, 4, 4]) lr = schedule.step(loss, lr);
 * assert.equal(lr, 1); // two non-improving steps: still within patience
 * lr = schedule.step(4, lr); // the third one cuts the rate
 * assert.equal(lr, 0.1);
 * assert.equal(schedule.best, 4);
 * ```
 */
export function plateauSchedule(options: PlateauOptions = {}): PlateauSchedule {
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) {
      throw new TypeError(
        `plateauSchedule: unknown option "${key}" (known: ${OPTION_KEYS.join(", ")})`,
      );
    }
  }
  const { factor = 0.1, patience = 2, threshold = 1e-4, minLr = 0, eps = 1e-8 } = options;
  if (!(factor > 0 && factor < 1)) {
    throw new RangeError(`plateauSchedule: factor must be in (0, 1), got ${factor}`);
  }
  if (!(Number.isInteger(patience) && patience >= 0)) {
    throw new RangeError(`plateauSchedule: patience must be an integer >= 0, got ${patience}`);
  }
  for (const [name, value] of [["threshold", threshold], ["minLr", minLr], ["eps", eps]] as const) {
    if (!(Number.isFinite(value) && value >= 0)) {
      throw new RangeError(`plateauSchedule: ${name} must be finite and >= 0, got ${value}`);
    }
  }
  let best = Infinity;
  let badSteps = 0;
  return {
    step(loss: number, lr: number): number {
      // NaN never improves.
      if (loss < best * (1 - threshold)) {
        best = loss;
        badSteps = 0;
      } else {
        badSteps += 1;
      }
      if (badSteps > patience) {
        badSteps = 0;
        const cut = Math.max(lr * factor, minLr);
        if (lr - cut > eps) return cut;
      }
      return lr;
    },
    get best(): number {
      return best;
    },
    get badSteps(): number {
      return badSteps;
    },
  };
}
