import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { CDE_PRESETS, formatCdeTable, runCdeExperiment } from "../../../experiments/cde/mod.ts";
import { encodeWav, SPEECH_COMMANDS_CLASSES } from "../../../models/cde/mod.ts";
import { seededRandom } from "../../../models/data/random.ts";
import { useBackend } from "../../../backend.ts";

await useBackend("cpu");

/**
 * Writes `perClass` one-second clips per word into `dir` in the Speech Commands layout: a tone
 * whose pitch depends on the word, with a little noise, so that the MFCCs differ by class.
 */
async function writeTinySpeechCommands(dir: string, perClass: number): Promise<void> {
  const rng = seededRandom(5);
  for (const [label, word] of SPEECH_COMMANDS_CLASSES.entries()) {
    await Deno.mkdir(join(dir, word), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const f = 200 + 150 * label + 20 * i;
      const samples = Int16Array.from(
        { length: 16000 },
        (_, t) => Math.round(8000 * Math.sin((2 * Math.PI * f * t) / 16000) + 300 * (rng() - 0.5)),
      );
      await Deno.writeFile(join(dir, word, `clip${i}.wav`), encodeWav(samples));
    }
  }
}

/** 2 clips per word: a 14 / 3 / 3 split; 5 knots (frames 0, 40, …, 160); a tiny model. */
const TINY = {
  epochs: 1,
  hiddenChannels: 3,
  hiddenHiddenChannels: 4,
  numHiddenLayers: 1,
  frameStride: 40,
  batchSize: 8,
  progress: "none" as const,
};

Deno.test("a tiny run of both norms: result JSON per norm, backward NFE, accuracy", async () => {
  const root = await Deno.makeTempDir();
  const data = join(root, "speech"), out = join(root, "results");
  try {
    await writeTinySpeechCommands(data, 2);
    const before = tf.memory().numTensors;
    const result = await runCdeExperiment({ ...TINY, data, out, seed: 1 });
    assert.equal(tf.memory().numTensors, before, "the experiment leaked tensors");
    assert.deepEqual(result.sizes, { train: 14, val: 3, test: 3 });
    assert.equal(result.backend, "cpu");
    assert.equal(result.preset, "small");
    assert.equal(result.data.source, "speechcommands");
    assert.equal(result.data.clips, 20);
    assert.equal(result.data.generated, false);
    assert.equal(result.data.fromCache, false);
    assert.deepEqual(result.data.times, [0, 40, 80, 120, 160]);
    // The small preset with the overrides applied.
    const { rtol, atol, timeChannelScale } = CDE_PRESETS.small;
    assert.equal(result.settings.rtol, rtol);
    assert.equal(result.settings.hiddenChannels, 3);
    assert.deepEqual(result.runs.map((r) => r.norm), ["default", "seminorm"]);
    // initial 21→3, field 3→4→63, readout 3→10.
    assert.equal(result.parameters, (21 * 3 + 3) + (3 * 4 + 4) + (4 * 63 + 63) + (3 * 10 + 10));
    const tol = (x: number) => String(x).replaceAll(".", "-");
    for (const run of result.runs) {
      const readable = `small-speechcommands-${run.norm}-${tol(rtol)}-${tol(atol)}`;
      assert.match(run.name, new RegExp(`^${readable}-[0-9a-f]{10}$`), "readable name + key");
      const folder = join(out, "speech_commands", run.name);
      assert.equal(run.path, join(folder, "0.json"));
      const saved = JSON.parse(await Deno.readTextFile(run.path!));
      assert.equal(saved.experiment, "speech_commands");
      assert.equal(saved.name, run.name);
      assert.equal(saved.backend, "cpu");
      assert.equal(saved.parameters, result.parameters);
      assert.match(saved.model, /^NeuralCDE: initial 21-3, vector field 3-4-3·21/);
      const c = saved.config;
      assert.deepEqual(
        [c.norm, c.preset, c.seed, c.rtol, c.atol, c.method, c.interpolation],
        [run.norm, "small", 1, rtol, atol, "dopri5", "linear"],
      );
      assert.equal(c.dataSeed, 0);
      assert.equal(c.timeChannelScale, timeChannelScale);
      assert.deepEqual(c.times, [0, 40, 80, 120, 160]);
      assert.deepEqual(c.sizes, { train: 14, val: 3, test: 3 });
      assert.equal(c.data.source, "speechcommands");
      assert.equal(saved.training.batchSize, 8);
      assert.equal(saved.training.epochsPerMetric, 1);
      assert.deepEqual(saved.history.map((h: { epoch: number }) => h.epoch), [0]);
      // Backward NFE: dopri5 costs 2 + 6 per step, and the 3 interior knots (jumpT) force at
      // least 4 steps per backward solve, so a pass over b batches records at least 26·b.
      const h = saved.history[0];
      assert.equal(h.train.batches, 2);
      assert.ok(h.train.backwardNfe >= 26 * 2, `${h.train.backwardNfe}`);
      assert.ok(h.train.forwardNfe >= 26 * 2, `${h.train.forwardNfe}`);
      assert.equal(saved.test.datasetSize, 3);
      assert.ok(saved.test.backwardNfe >= 26);
      assert.ok(saved.test.accuracy >= 0 && saved.test.accuracy <= 1);
      assert.ok(Number.isFinite(saved.test.loss) && saved.test.loss > 0);
      // The run's summary is read from that record.
      assert.equal(run.backwardNfe, h.train.backwardNfe);
      assert.equal(run.backwardNfePerBatch, h.train.backwardNfe / 2);
      assert.equal(run.forwardNfe, h.train.forwardNfe);
      assert.equal(run.passSeconds, h.train.timespan);
      assert.equal(run.testAccuracy, saved.test.accuracy);
      assert.equal(run.testBackwardNfe, saved.test.backwardNfe);
      assert.ok(run.trainingBackwardNfe >= 26 * 2, "two training steps");
      assert.ok(run.seconds > 0 && run.testSeconds > 0);
    }
    const table = formatCdeTable(result.runs);
    assert.match(table, /^norm +test acc +backward NFE +per batch +reduction +fwd\+bwd time/);
    // The saving as the runs measured it, and a saving: a negative one ("-3.0% fewer") fails.
    const [base, semi] = result.runs.map((r) => r.backwardNfe);
    const saving = table.match(/\nseminorm: (\d+\.\d)% fewer backward NFE/);
    assert.ok(saving, `no non-negative saving in:\n${table}`);
    assert.equal(saving[1], (100 * (1 - semi / base)).toFixed(1));

    // The cached MFCCs serve a second run of the same settings: the same folder, the next run
    // number.
    const again = await runCdeExperiment({ ...TINY, data, out, seed: 1, norms: ["seminorm"] });
    assert.equal(again.data.fromCache, true);
    assert.equal(again.runs[0].name, result.runs[1].name);
    assert.ok(again.runs[0].path!.endsWith("/1.json"));
    // Another setting (the learning rate): another folder, never beside the runs above.
    const lr = await runCdeExperiment({
      ...TINY,
      data,
      out,
      seed: 1,
      norms: ["seminorm"],
      learningRate: 0.05,
    });
    assert.notEqual(lr.runs[0].name, result.runs[1].name);
    assert.ok(lr.runs[0].path!.endsWith("/0.json"));
    assert.equal(tf.memory().numTensors, before, "the second run leaked tensors");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("bad experiment options fail before any work", async () => {
  const before = tf.memory().numTensors;
  const root = await Deno.makeTempDir();
  const missing = join(root, "none");
  const fails = (options: object, message: RegExp) =>
    assert.rejects(runCdeExperiment({ ...TINY, data: missing, ...options }), message);
  await fails({ batch: 3 }, /unknown option "batch"/);
  await fails({ rtol: 0 }, /rtol must be a finite number > 0/);
  await fails({ frameStride: 1.5 }, /frameStride must be an integer >= 1/);
  await fails({ norms: ["semi"] }, /unknown norm "semi"/);
  await fails({ dataSeed: -1 }, /dataSeed must be an integer >= 0/);
  await fails({ preset: "huge" }, /unknown preset "huge"/);
  await fails({ synthetic: 100 }, /either data .* or synthetic, not both/);
  await fails({ data: undefined, synthetic: 5 }, /synthetic must be an integer >= 20/);
  await fails({ data: undefined, download: true }, /download needs data/);
  await fails({ data: undefined, preset: "paper" }, /the paper preset needs the real data/);
  // A folder without the word folders: a clear error naming what is missing.
  await fails({ out: false }, /none not found \(no Speech Commands\)/);
  assert.equal(tf.memory().numTensors, before);
  await Deno.remove(root, { recursive: true });
});
