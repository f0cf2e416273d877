import assert from "node:assert/strict";
import { acrobotMain, parseAcrobotArgs } from "../../../experiments/acrobot/mod.ts";

Deno.test("command line: flags, unknown flags and bad values are clear errors", async () => {
  assert.deepEqual(parseAcrobotArgs([]), {});
  assert.deepEqual(parseAcrobotArgs(["--norm", "paper-code-seminorm"]), {
    norms: ["paper-code-seminorm"],
  });
  assert.deepEqual(parseAcrobotArgs(["--norm", "all"]), {
    norms: ["default", "seminorm", "paper-code-seminorm"],
  });
  assert.throws(() => parseAcrobotArgs(["--norm", "semi"]), /--norm must be one of/);
  assert.deepEqual(
    parseAcrobotArgs([
      "--norm=both",
      "--preset",
      "paper",
      "--rtol",
      "1e-3",
      "--atol",
      "1e-6",
      "--epochs",
      "2",
      "--backend",
      "cpu",
      "--seed",
      "4",
      "--out",
      "x",
      "--trials",
      "32",
      "--width",
      "16",
      "--batch-size",
      "64",
      "--lr",
      "0.003",
      "--metric-every",
      "2",
      "--control",
    ]),
    {
      norms: ["default", "seminorm"],
      preset: "paper",
      rtol: 1e-3,
      atol: 1e-6,
      epochs: 2,
      backend: "cpu",
      seed: 4,
      out: "x",
      trials: 32,
      massHidden: 16,
      potentialHidden: 16,
      inputHidden: 16,
      batchSize: 64,
      learningRate: 0.003,
      epochsPerMetric: 2,
      control: true,
    },
  );
  assert.deepEqual(parseAcrobotArgs(["--norm", "default"]), { norms: ["default"] });
  assert.equal(parseAcrobotArgs(["-h"]), "help");
  assert.throws(() => parseAcrobotArgs(["--epoch", "3"]), {
    name: "TypeError",
    message: "unknown flag --epoch; run with --help to see the flags",
  });
  assert.throws(() => parseAcrobotArgs(["results"]), /unexpected argument "results"/);
  assert.throws(() => parseAcrobotArgs(["--norm", "semi"]), /--norm must be one of default/);
  assert.throws(() => parseAcrobotArgs(["--backend", "gpu"]), /--backend must be one of cpu/);
  assert.throws(() => parseAcrobotArgs(["--rtol", "0"]), /--rtol must be a number > 0/);
  assert.throws(() => parseAcrobotArgs(["--epochs", "1.5"]), /--epochs must be an integer/);
  assert.throws(() => parseAcrobotArgs(["--trials", "5"]), /--trials must be an integer >= 7/);
  assert.throws(() => parseAcrobotArgs(["--epochs"]), /argument missing/);
  // Checkpoints: a folder each, never both.
  assert.deepEqual(parseAcrobotArgs(["--resume", "ck"]), { resume: "ck" });
  assert.deepEqual(parseAcrobotArgs(["--checkpoint", "ck"]), { checkpoint: "ck" });
  assert.throws(
    () => parseAcrobotArgs(["--checkpoint", "a", "--resume", "b"]),
    /--checkpoint and --resume exclude each other/,
  );
  // The entry point reports a usage error with exit code 2 before doing any work.
  const errors: string[] = [];
  const original = console.error;
  console.error = (...xs: unknown[]) => errors.push(xs.join(" "));
  try {
    assert.equal(await acrobotMain(["--bogus"]), 2);
  } finally {
    console.error = original;
  }
  assert.deepEqual(errors, ["error: unknown flag --bogus; run with --help to see the flags"]);
});
