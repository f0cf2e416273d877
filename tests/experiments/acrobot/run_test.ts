import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../../backend.ts";
import {
  ACROBOT_PRESETS,
  formatAcrobotTable,
  runAcrobotExperiment,
} from "../../../experiments/acrobot/mod.ts";

await useBackend("cpu");

/**
 * 2 controls × 4 training trials × 2 windows = 16 training windows, 4 val, 8 test; loose
 * tolerances keep the solves short (the test is about the plumbing, not the numbers).
 */
const TINY = {
  epochs: 1,
  massHidden: 4,
  potentialHidden: 3,
  inputHidden: 3,
  trials: 7,
  steps: 9,
  controls: [[0, 1], [-1, 0]] as [number, number][],
  batchSize: 8,
  rtol: 1e-2,
  atol: 1e-2,
  progress: "none" as const,
};

Deno.test("a tiny run of both norms: result JSON per norm, backward NFE, control trajectories", async () => {
  const out = await Deno.makeTempDir();
  const cacheDir = await Deno.makeTempDir();
  try {
    const before = tf.memory().numTensors;
    const result = await runAcrobotExperiment({
      ...TINY,
      out,
      cacheDir,
      seed: 3,
      control: { duration: 0.2 },
    });
    assert.equal(tf.memory().numTensors, before, "the experiment leaked tensors");
    assert.deepEqual(result.sizes, { train: 16, val: 4, test: 8 });
    assert.equal(result.backend, "cpu");
    // The small preset with the overrides applied.
    assert.equal(result.preset, "small");
    assert.deepEqual(result.settings, {
      ...ACROBOT_PRESETS.small,
      massHidden: 4,
      potentialHidden: 3,
      inputHidden: 3,
      trials: 7,
      batchSize: 8,
      epochs: 1,
      rtol: 1e-2,
      atol: 1e-2,
    });
    assert.deepEqual(result.runs.map((r) => r.norm), ["default", "seminorm"]);
    for (const run of result.runs) {
      // The readable name, then the hash of every setting.
      assert.match(run.name, new RegExp(`^small-${run.norm}-0-01-0-01-[0-9a-f]{10}$`));
      const folder = `${out}/acrobot/${run.name}`;
      assert.equal(run.path, `${folder}/0.json`);
      const saved = JSON.parse(await Deno.readTextFile(run.path!));
      assert.equal(saved.experiment, "acrobot");
      assert.equal(saved.name, run.name);
      assert.equal(saved.config.norm, run.norm);
      assert.equal(saved.config.preset, "small");
      assert.equal(saved.config.seed, 3);
      assert.equal(saved.config.rtol, 1e-2);
      assert.equal(saved.config.atol, 1e-2);
      assert.deepEqual(saved.config.sizes, { train: 16, val: 4, test: 8 });
      assert.equal(saved.training.batchSize, 8);
      assert.equal(saved.training.epochsPerMetric, 1);
      assert.equal(saved.parameters, result.parameters);
      assert.match(saved.model, /^Symoden: M⁻¹ net 4-4-4-4-3, V net 4-3-3-1, g net 4-3-3-4/);
      assert.deepEqual(saved.history.map((h: { epoch: number }) => h.epoch), [0]);
      // Backward NFE: dopri5 costs ≥ 2 + 6 evaluations on each of a window's 7 output gaps, so
      // a pass over b batches records at least 56·b.
      const h = saved.history[0];
      assert.equal(h.train.batches, 2);
      assert.ok(h.train.backwardNfe >= 56 * 2, `${h.train.backwardNfe}`);
      assert.ok(saved.test.backwardNfe >= 56 && saved.test.forwardNfe >= 8);
      assert.equal(saved.test.datasetSize, 8);
      assert.ok(Number.isFinite(saved.test.loss) && saved.test.loss > 0);
      // The run's summary is read from that record.
      assert.equal(run.backwardNfe, h.train.backwardNfe);
      assert.equal(run.backwardNfePerBatch, h.train.backwardNfe / 2);
      assert.equal(run.forwardNfe, h.train.forwardNfe);
      assert.equal(run.testLoss, saved.test.loss);
      assert.ok(run.trainingBackwardNfe >= 56 * 2, "two training steps");
      assert.ok(run.seconds > 0);
      // The swing-up of the trained model, next to the result.
      assert.ok(run.control && !("error" in run.control), JSON.stringify(run.control));
      assert.equal(run.control.path, `${folder}/0.control.json`);
      const traj = JSON.parse(await Deno.readTextFile(run.control.path!));
      assert.equal(traj.times.length, 5);
      assert.equal(traj.controls.length, 4);
      assert.deepEqual(traj.angles[0], [Math.fround(0.05), 0]); // 0.05 rad off hanging
      assert.ok(traj.controls.flat().every((u: number) => Math.abs(u) <= 15), "clipped to ±15");
    }
    // Same seed for both norms: the same initial model and batches, so the losses agree to the
    // solver's tolerance (the backward norm only changes the steps of the gradient's solve).
    const [a, b] = result.runs.map((r) => r.result.history[0].train.loss);
    assert.ok(Math.abs(a - b) <= 1e-3 * a, `${a} vs ${b}`);
    const table = formatAcrobotTable(result.runs);
    assert.match(table, /^norm +test MSE +backward NFE +per batch +reduction/);
    // The saving as the runs measured it, and a saving: a negative one ("-3.0% fewer") fails.
    const [base, semi] = result.runs.map((r) => r.backwardNfe);
    const saving = table.match(/\nseminorm: (\d+\.\d)% fewer backward NFE/);
    assert.ok(saving, `no non-negative saving in:\n${table}`);
    assert.equal(saving[1], (100 * (1 - semi / base)).toFixed(1));

    // A run of other settings (seed 0, no control) lands in another folder, as its first run.
    const again = await runAcrobotExperiment({ ...TINY, out, cacheDir, norms: ["seminorm"] });
    assert.notEqual(again.runs[0].name, result.runs[1].name);
    assert.ok(again.runs[0].path!.endsWith("/0.json"));
    assert.equal(again.runs[0].control, undefined);
    assert.equal(tf.memory().numTensors, before, "later runs leaked tensors");
  } finally {
    await Deno.remove(out, { recursive: true });
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("bad experiment options fail before any work", async () => {
  const before = tf.memory().numTensors;
  await assert.rejects(
    runAcrobotExperiment({ ...TINY, batch: 3 } as never),
    /unknown option "batch"/,
  );
  await assert.rejects(runAcrobotExperiment({ ...TINY, rtol: 0 }), /rtol must be a finite/);
  await assert.rejects(runAcrobotExperiment({ ...TINY, epochs: 0 }), /epochs must be an integer/);
  await assert.rejects(
    runAcrobotExperiment({ ...TINY, norms: ["semi" as never] }),
    /unknown norm "semi"/,
  );
  await assert.rejects(
    runAcrobotExperiment({ ...TINY, preset: "huge" as never }),
    /unknown preset "huge"/,
  );
  await assert.rejects(
    runAcrobotExperiment({ ...TINY, trials: 4, cacheDir: false, out: false }),
    /the val split is empty with 4 trials per control/,
  );
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("the paper's code's norm is a third choice: same forward solves, its own backward NFE", async () => {
  const before = tf.memory().numTensors;
  const result = await runAcrobotExperiment({
    ...TINY,
    // rtol = atol = 1e-4 (the paper's): the mis-sliced norm dilutes the state's RMS with zero
    // parameter adjoints (a looser tolerance in effect), so here it takes no more backward
    // steps than the default norm.
    rtol: 1e-4,
    atol: 1e-4,
    out: false,
    cacheDir: false,
    norms: ["default", "paper-code-seminorm"],
  });
  assert.equal(tf.memory().numTensors, before, "the experiment leaked tensors");
  const [base, paper] = result.runs;
  assert.deepEqual(result.runs.map((r) => r.norm), ["default", "paper-code-seminorm"]);
  // The norm acts on the backward solves only: trained one epoch from the same seed, the forward
  // solves of the metric passes agree here.
  assert.equal(paper.forwardNfe, base.forwardNfe);
  assert.ok(paper.backwardNfe > 0 && paper.backwardNfe <= base.backwardNfe, `${paper.backwardNfe}`);
  assert.match(formatAcrobotTable(result.runs), /paper-code-seminorm/);
});
