/**
 * The standard 2-D densities of the FFJORD paper's toy experiments (its `lib/toy_data.py`),
 * generated from a seeded uniform generator: `8gaussians`, `moons`, `pinwheel`, `checkerboard`
 * and `rings`, with FFJORD's scales and noise levels.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { normalSamples } from "./normal.ts";

/** The names of the 2-D densities. */
export type ToyDensity = "8gaussians" | "moons" | "pinwheel" | "checkerboard" | "rings";

/**
 * The 2-D densities, in the order the experiment's `--density` lists them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TOY_DENSITIES } from "@fasterode/fasterode/models/cnf";
 * assert.equal(TOY_DENSITIES[0], "8gaussians");
 * ```
 */
export const TOY_DENSITIES: readonly ToyDensity[] = Object.freeze([
  "8gaussians",
  "moons",
  "pinwheel",
  "checkerboard",
  "rings",
]);

/** Points `[n][2]` of one density, from `random`. */
function points(name: ToyDensity, n: number, random: () => number): [number, number][] {
  const normal = () => normalSamples(1, random)[0];
  switch (name) {
    case "8gaussians": {
      // Unit-variance-scaled mixture: centres on a circle of radius 4, std 0.5, all / 1.414.
      const s = 1 / Math.SQRT2;
      const centres = [[1, 0], [-1, 0], [0, 1], [0, -1], [s, s], [s, -s], [-s, s], [-s, -s]];
      return Array.from({ length: n }, () => {
        const c = centres[Math.floor(random() * 8)];
        return [(0.5 * normal() + 4 * c[0]) / 1.414, (0.5 * normal() + 4 * c[1]) / 1.414];
      });
    }
    case "moons": {
      // sklearn's make_moons(noise=0.1), then ·2 + (−1, −0.2).
      const outer = Math.floor(n / 2);
      return Array.from({ length: n }, (_, i) => {
        let x: number, y: number;
        if (i < outer) {
          const a = Math.PI * (outer > 1 ? i / (outer - 1) : 0);
          [x, y] = [Math.cos(a), Math.sin(a)];
        } else {
          const m = n - outer;
          const a = Math.PI * (m > 1 ? (i - outer) / (m - 1) : 0);
          [x, y] = [1 - Math.cos(a), 1 - Math.sin(a) - 0.5];
        }
        return [2 * (x + 0.1 * normal()) - 1, 2 * (y + 0.1 * normal()) - 0.2];
      });
    }
    case "pinwheel": {
      // Five arms: radial std 0.3, tangential std 0.1, rate 0.25, scaled by 2.
      const arms = 5;
      return Array.from({ length: n }, (_, i) => {
        const label = i % arms;
        const r = 0.3 * normal() + 1;
        const u = 0.1 * normal();
        const angle = (2 * Math.PI * label) / arms + 0.25 * Math.exp(r);
        const [c, s] = [Math.cos(angle), Math.sin(angle)];
        return [2 * (r * c - u * s), 2 * (r * s + u * c)];
      });
    }
    case "checkerboard": {
      // Uniform on the dark squares of a 4×4 board over [−4, 4]².
      return Array.from({ length: n }, () => {
        const x1 = 4 * random() - 2;
        const x2 = random() - 2 * Math.floor(2 * random()) + (((Math.floor(x1) % 2) + 2) % 2);
        return [2 * x1, 2 * x2];
      });
    }
    case "rings": {
      // Four concentric circles of radii 1, 0.75, 0.5, 0.25, scaled by 3, noise std 0.08.
      const radii = [1, 0.75, 0.5, 0.25];
      return Array.from({ length: n }, () => {
        const r = radii[Math.floor(random() * 4)];
        const a = 2 * Math.PI * random();
        return [3 * r * Math.cos(a) + 0.08 * normal(), 3 * r * Math.sin(a) + 0.08 * normal()];
      });
    }
    default:
      throw new RangeError(
        `unknown 2-D density "${name}" (${TOY_DENSITIES.join(", ")})`,
      );
  }
}

/**
 * `n` points `[n, 2]` of the named 2-D density, drawn from `random` (a seeded generator from
 * `models/data`, so the data are reproducible).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seededRandom } from "@fasterode/fasterode/models/data";
 * import { toyData } from "@fasterode/fasterode/models/cnf";
 * const x = toyData("8gaussians", 1000, seededRandom(0));
 * assert.deepEqual(x.shape, [1000, 2]);
 * // Every point lies near the circle of radius 4/1.414 ≈ 2.83 (std 0.35 about it).
 * const r = x.norm("euclidean", 1).dataSync();
 * assert.ok(r.every((v) => v > 1 && v < 4.7));
 * x.dispose();
 * ```
 *
 * @param name the density
 * @param n how many points
 * @param random uniform numbers in [0, 1)
 * @returns the points
 */
export function toyData(name: ToyDensity, n: number, random: () => number): tf.Tensor2D {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`toyData: n must be an integer >= 1, got ${n}`);
  }
  return tf.tensor2d(points(name, n, random).flat(), [n, 2]);
}
