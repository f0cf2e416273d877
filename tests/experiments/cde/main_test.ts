import assert from "node:assert/strict";
import { cdeMain, parseCdeArgs } from "../../../experiments/cde/mod.ts";

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
  assert.deepEqual(parseCdeArgs(["--resume", "ck"]), { resume: "ck" });
  assert.throws(
    () => parseCdeArgs(["--resume", "a", "--checkpoint", "b"]),
    /--checkpoint and --resume exclude each other/,
  );
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

Deno.test("command line: --backend passes the settings check (it is not an experiment option)", async () => {
  const errors: string[] = [];
  const error = console.error;
  console.error = (...a: unknown[]) => void errors.push(a.join(" "));
  try {
    // Flags that parse but fail the settings check (paper without data), beside --backend: the
    // usage error must be that check's, not "unknown option backend".
    assert.equal(await cdeMain(["--backend", "cpu", "--preset", "paper"]), 2);
  } finally {
    console.error = error;
  }
  const text = errors.join("\n");
  assert.match(text, /paper preset needs the real data/);
  assert.doesNotMatch(text, /unknown option "backend"/);
});
