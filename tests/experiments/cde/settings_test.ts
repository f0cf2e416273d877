import assert from "node:assert/strict";
import { CDE_PRESETS, CDE_TOLERANCES, resolveCdeSettings } from "../../../experiments/cde/mod.ts";

Deno.test("tolerances: a pair, or one of them with its partner from the paper's pairs", () => {
  const tols = (options: object) => {
    const { settings } = resolveCdeSettings(options);
    return [settings.rtol, settings.atol];
  };
  assert.deepEqual(tols({ preset: "paper" }), [1e-3, 1e-6]);
  assert.deepEqual(tols({ preset: "paper", rtol: 1e-4 }), [1e-4, 1e-7]);
  assert.deepEqual(tols({ atol: 1e-8 }), [1e-5, 1e-8]);
  assert.deepEqual(tols({ rtol: 1e-2, atol: 1e-9 }), [1e-2, 1e-9]);
  assert.deepEqual(tols({ rtol: 2e-3 }), [2e-3, CDE_PRESETS.small.atol]); // not a seed pair
  assert.deepEqual(CDE_TOLERANCES.map((p) => [...p]), [[1e-3, 1e-6], [1e-4, 1e-7], [1e-5, 1e-8]]);
  const paper = resolveCdeSettings({ preset: "paper", epochs: 3 });
  assert.deepEqual(paper.settings, { ...CDE_PRESETS.paper, epochs: 3 });
});
