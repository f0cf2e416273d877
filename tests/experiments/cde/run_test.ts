import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import {
  CDE_PRESETS,
  CDE_TOLERANCES,
  cdeMain,
  ensureSyntheticSpeech,
  formatCdeTable,
  parseCdeArgs,
  resolveCdeSettings,
  runCdeExperiment,
} from "../../../experiments/cde/experiment.ts";
import { encodeWav, espeakAvailable, SPEECH_COMMANDS_CLASSES } from "../../../models/cde/mod.ts";
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
      const folder = join(
        out,
        "speech_commands",
        `small-speechcommands-${run.norm}-${tol(rtol)}-${tol(atol)}`,
      );
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
    assert.match(table, /\nseminorm: -?\d+\.\d% fewer backward NFE/);

    // The cached MFCCs serve a second run, which takes the next run number.
    const again = await runCdeExperiment({ ...TINY, data, out, seed: 1, norms: ["seminorm"] });
    assert.equal(again.data.fromCache, true);
    assert.ok(again.runs[0].path!.endsWith("/1.json"));
    assert.equal(tf.memory().numTensors, before, "the second run leaked tensors");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("synthetic sets: reused when finished, generated with espeak-ng otherwise", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    // A finished set (its marker) is reused without running espeak-ng.
    await Deno.mkdir(join(dataDir, "synthetic-30-2"));
    await Deno.writeTextFile(
      join(dataDir, "synthetic-30-2", "synthetic.json"),
      JSON.stringify({ count: 30, seed: 2 }),
    );
    assert.deepEqual(await ensureSyntheticSpeech({ count: 30, seed: 2, dataDir }), {
      dir: join(dataDir, "synthetic-30-2"),
      generated: false,
      seconds: 0,
    });
    if (!(await espeakAvailable())) {
      console.log("espeak-ng not installed: skipping the generation check");
      return;
    }
    const made = await ensureSyntheticSpeech({ count: 20, seed: 0, dataDir });
    assert.equal(made.generated, true);
    for (const word of SPEECH_COMMANDS_CLASSES) {
      const files = [...Deno.readDirSync(join(made.dir, word))].map((e) => e.name);
      assert.equal(files.length, 2, word);
    }
    const reused = await ensureSyntheticSpeech({ count: 20, seed: 0, dataDir });
    assert.deepEqual(reused, { dir: made.dir, generated: false, seconds: 0 });
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("command line: flags, unknown flags and bad values are clear errors", async () => {
  assert.deepEqual(parseCdeArgs([]), {});
  assert.deepEqual(
    parseCdeArgs([
      "--norm=both",
      "--preset",
      "paper",
      "--rtol",
      "1e-4",
      "--atol",
      "1e-7",
      "--epochs",
      "2",
      "--backend",
      "cpu",
      "--seed",
      "4",
      "--data-seed",
      "2",
      "--out",
      "x",
      "--data",
      "sc",
      "--download",
      "--batch-size",
      "64",
      "--hidden",
      "8",
      "--hidden-hidden",
      "6",
      "--layers",
      "3",
      "--frame-stride",
      "4",
      "--time-scale",
      "0.5",
      "--lr",
      "0.003",
      "--metric-every",
      "2",
      "--record-times",
    ]),
    {
      norms: ["default", "seminorm"],
      preset: "paper",
      rtol: 1e-4,
      atol: 1e-7,
      epochs: 2,
      backend: "cpu",
      seed: 4,
      dataSeed: 2,
      out: "x",
      data: "sc",
      download: true,
      batchSize: 64,
      hiddenChannels: 8,
      hiddenHiddenChannels: 6,
      numHiddenLayers: 3,
      frameStride: 4,
      timeChannelScale: 0.5,
      learningRate: 0.003,
      epochsPerMetric: 2,
      recordTimes: true,
    },
  );
  assert.deepEqual(parseCdeArgs(["--synthetic", "500", "--data-dir", "d"]), {
    synthetic: 500,
    dataDir: "d",
  });
  assert.equal(parseCdeArgs(["-h"]), "help");
  assert.throws(() => parseCdeArgs(["--epoch", "3"]), {
    name: "TypeError",
    message: "unknown flag --epoch; run with --help to see the flags",
  });
  assert.throws(() => parseCdeArgs(["results"]), /unexpected argument "results"/);
  assert.throws(() => parseCdeArgs(["--norm", "semi"]), /--norm must be one of default/);
  assert.throws(() => parseCdeArgs(["--backend", "gpu"]), /--backend must be one of cpu/);
  assert.throws(() => parseCdeArgs(["--rtol=-1"]), /--rtol must be a number > 0, got "-1"/);
  assert.throws(() => parseCdeArgs(["--atol", "0"]), /--atol must be a number > 0/);
  assert.throws(() => parseCdeArgs(["--epochs", "1.5"]), /--epochs must be an integer/);
  assert.throws(() => parseCdeArgs(["--synthetic", "12"]), /--synthetic must be an integer >= 20/);
  assert.throws(() => parseCdeArgs(["--epochs"]), /argument missing/);
  assert.throws(() => parseCdeArgs(["--data", "a", "--synthetic", "50"]), /exclude each other/);
  assert.throws(() => parseCdeArgs(["--download"]), /--download needs --data/);
  // The entry point reports usage errors with exit code 2 before doing any work.
  const errors: string[] = [];
  const original = console.error;
  console.error = (...xs: unknown[]) => errors.push(xs.join(" "));
  try {
    assert.equal(await cdeMain(["--bogus"]), 2);
    assert.equal(await cdeMain(["--preset", "paper"]), 2);
  } finally {
    console.error = original;
  }
  assert.equal(errors[0], "error: unknown flag --bogus; run with --help to see the flags");
  assert.match(errors[1], /^error: cde: the paper preset needs the real data/);
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
  await fails({ out: false }, /none\/yes not found: .* does not hold Speech Commands/);
  assert.equal(tf.memory().numTensors, before);
  await Deno.remove(root, { recursive: true });
});

Deno.test("tolerances: a pair, or one of them with its partner from the seed's pairs", () => {
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
