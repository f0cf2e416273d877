/**
 * Tests of `experiments/harness/plateau.ts` with its defaults: PyTorch's ReduceLROnPlateau
 * (factor 0.1, patience 2, threshold 1e-4 relative, min_lr 0, eps 1e-8). The other tests pass
 * every option, so these are the ones that would catch a changed default.
 */
import assert from "node:assert/strict";
import { plateauSchedule } from "../../../experiments/harness/plateau.ts";

Deno.test("plateauSchedule(): cuts by the default factor 0.1 after 3 non-improving steps", () => {
  const schedule = plateauSchedule();
  const lrs: number[] = [];
  let lr = 0.3;
  // 2 sets the best; three steps of 2 (patience 2, then the cut); three more (the next cut).
  for (const loss of [2, 2, 2, 2, 2, 2, 2]) lrs.push(lr = schedule.step(loss, lr));
  // 0.3·0.1 and 0.3·0.1·0.1, as float64 multiplications (exactly what a changed factor is not).
  assert.deepEqual(lrs, [0.3, 0.3, 0.3, 0.3 * 0.1, 0.3 * 0.1, 0.3 * 0.1, 0.3 * 0.1 * 0.1]);
  assert.equal(schedule.best, 2);
  assert.equal(schedule.badSteps, 0, "a cut resets the count");
});

Deno.test("plateauSchedule(): default threshold 1e-4 (relative) and eps 1e-8", () => {
  // An improvement by less than 1e-4 of the best is no improvement: the count goes on.
  const schedule = plateauSchedule();
  let lr = 1;
  lr = schedule.step(1, lr);
  lr = schedule.step(1 - 0.5e-4, lr);
  assert.equal(schedule.badSteps, 1);
  assert.equal(schedule.best, 1);
  lr = schedule.step(1 - 2e-4, lr); // better by 2e-4 of the best: a new best
  assert.equal(schedule.badSteps, 0);
  assert.equal(schedule.best, 1 - 2e-4);
  assert.equal(lr, 1);
  // A cut smaller than eps = 1e-8 is skipped: lr 1e-8 would become 1e-9 (a change of 9e-9).
  const tiny = plateauSchedule();
  let small = 1e-8;
  for (const loss of [1, 1, 1, 1]) small = tiny.step(loss, small);
  assert.equal(small, 1e-8);
  // ...and one larger than eps is made: 2e-8 → 2e-9 (a change of 1.8e-8).
  const larger = plateauSchedule();
  let lr2 = 2e-8;
  for (const loss of [1, 1, 1, 1]) lr2 = larger.step(loss, lr2);
  assert.equal(lr2, 2e-8 * 0.1);
});
