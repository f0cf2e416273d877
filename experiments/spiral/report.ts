/**
 * What the demo prints: the table of both runs ({@link formatDemoTable}).
 *
 * @module
 */
import { reduction, textTable } from "../harness/mod.ts";
import type { DemoRun } from "./run.ts";

/**
 * The runs as a table (forward NFE, backward NFE, evaluation loss, wall time), then the
 * seminorm's saving.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatDemoTable } from "@fasterode/fasterode/experiments";
 * const table = formatDemoTable([
 *   { norm: "default", forwardNfe: 8344, backwardNfe: 19784, finalLoss: 0.3146, seconds: 20 },
 *   { norm: "seminorm", forwardNfe: 8296, backwardNfe: 11618, finalLoss: 0.2054, seconds: 12 },
 * ]);
 * assert.match(table, /\nseminorm  8296 +11618 +0\.2054 +12\.0 s\n/);
 * assert.match(table, /seminorm: 41\.3% fewer backward NFE, 40\.0% less wall time/);
 * ```
 *
 * @param runs the default norm's run, then the seminorm's
 * @returns the table and the saving
 */
export function formatDemoTable(runs: DemoRun[]): string {
  const [full, semi] = runs;
  return [
    textTable(runs.map((r) => ({
      "norm": r.norm,
      "forward NFE": r.forwardNfe,
      "backward NFE": r.backwardNfe,
      "eval loss": r.finalLoss.toFixed(4),
      "wall time": `${r.seconds.toFixed(1)} s`,
    }))),
    "",
    `seminorm: ${reduction(full.backwardNfe, semi.backwardNfe)} fewer backward NFE, ` +
    `${reduction(full.seconds, semi.seconds)} less wall time ` +
    `(paper: median 40%, up to 62% fewer backward NFE)`,
  ].join("\n");
}
