import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  cnfMain,
  formatCnfTable,
  parseCnfArgs,
  runCnfExperiment,
} from "../../../experiments/cnf/mod.ts";
import { readResults } from "../../../experiments/harness/mod.ts";

Deno.test("command line: flags, unknown flags and bad values are clear errors", () => {
  assert.deepEqual(parseCnfArgs([]), {});
  assert.deepEqual(
    parseCnfArgs([
      "--norm=seminorm",
      "--density",
      "pinwheel",
      "--trace",
      "hutchinson",
      "--noise",
      "gaussian",
      "--layer",
      "concat",
      "--activation",
      "softplus",
      "--kinetic",
      "0.01",
      "--jacobian",
      "0",
      "--width",
      "16",
      "--depth",
      "3",
      "--train",
      "100",
      "--time",
      "1",
      "--data",
      "d",
    ]),
    {
      norms: ["seminorm"],
      density: "pinwheel",
      trace: "hutchinson",
      noise: "gaussian",
      layer: "concat",
      activation: "softplus",
      kineticWeight: 0.01,
      jacobianWeight: 0,
      width: 16,
      depth: 3,
      trainSize: 100,
      time: 1,
      data: "d",
    },
  );
  assert.throws(() => parseCnfArgs(["--kinetic=-1"]), /--kinetic must be a number >= 0/);
  assert.throws(() => parseCnfArgs(["--trace", "brute"]), /--trace must be one of exact/);
  assert.throws(() => parseCnfArgs(["--widht", "3"]), /unknown flag --widht/);
});

Deno.test("deno task cnf at a tiny size prints the table and saves both runs", async () => {
  await tf.setBackend("cpu");
  const out = await Deno.makeTempDir();
  const lines: string[] = [];
  const log = console.log;
  console.log = (...xs: unknown[]) => lines.push(xs.join(" "));
  let code: number;
  try {
    code = await cnfMain([
      ...["--norm", "both", "--backend", "cpu", "--out", out, "--epochs", "1"],
      ...["--train", "32", "--batch-size", "16", "--width", "8", "--depth", "1"],
      ...["--rtol", "1e-2", "--atol", "1e-2"],
    ]);
  } finally {
    console.log = log;
  }
  assert.equal(code, 0);
  const text = lines.join("\n");
  assert.match(text, /^cnf, preset small: 8gaussians \(2-D\), 32\/200\/1000 points/);
  assert.match(text, /\ndefault +-?\d+\.\d{3} +\d+ +\d+/);
  assert.match(text, /\nseminorm +-?\d+\.\d{3} +\d+ +\d+ +\d+\.\d +-?\d+\.\d%/);
  assert.match(text, /paper: median 40%, up to 62% fewer backward NFE/);
  // The trained density's mass on the grid is reported (and is 1 for a sound flow: the test of
  // that at a trained size is tests/models/cnf/density_test.ts; loose tolerances here).
  const mass = [...text.matchAll(/mass on the grid \[-6, 6\]² is (\d\.\d+)/g)].map((m) => +m[1]);
  assert.equal(mass.length, 2);
  assert.ok(mass.every((m) => Math.abs(m - 1) < 0.1), `${mass}`);
  const saved = await readResults(out, "cnf");
  // One configuration folder per norm (`<preset>-<data>-<norm>-<rtol>-<atol>`, then a hash).
  const names = Object.keys(saved).sort();
  assert.equal(names.length, 2);
  assert.match(names[0], /^small-8gaussians-default-0-01-0-01/);
  assert.match(names[1], /^small-8gaussians-seminorm-0-01-0-01/);
  assert.deepEqual(names.map((n) => saved[n][0].config.norm), ["default", "seminorm"]);
  await Deno.remove(out, { recursive: true });
});

/** An IDX file of unsigned bytes with the given dimensions. */
function idx(dims: number[], data: Uint8Array): Uint8Array {
  const head = new DataView(new ArrayBuffer(4 + 4 * dims.length));
  head.setUint32(0, 0x800 + dims.length);
  dims.forEach((d, i) => head.setUint32(4 + 4 * i, d));
  return new Uint8Array([...new Uint8Array(head.buffer), ...data]);
}

Deno.test("the MNIST path: a tiny IDX folder trains, and bits/dim are reported", async () => {
  await tf.setBackend("cpu");
  const dir = await Deno.makeTempDir();
  const pixels = (n: number) => Uint8Array.from({ length: n * 16 }, (_, i) => (i * 37) % 256);
  await Deno.writeFile(`${dir}/train-images-idx3-ubyte`, idx([12, 4, 4], pixels(12)));
  await Deno.writeFile(`${dir}/train-labels-idx1-ubyte`, idx([12], new Uint8Array(12)));
  await Deno.writeFile(`${dir}/t10k-images-idx3-ubyte`, idx([4, 4, 4], pixels(4)));
  await Deno.writeFile(`${dir}/t10k-labels-idx1-ubyte`, idx([4], new Uint8Array(4)));
  const before = tf.memory().numTensors;
  const result = await runCnfExperiment({
    preset: "paper",
    data: dir,
    ...{ trainSize: 8, valSize: 4, testSize: 4, width: 8, depth: 1, epochs: 1, batchSize: 4 },
    ...{ epochsPerMetric: 1, rtol: 1e-2, atol: 1e-2, out: false, progress: "none" },
  });
  assert.equal(tf.memory().numTensors, before, "the experiment leaked tensors");
  assert.equal(result.dim, 16);
  for (const run of result.runs) {
    // bits/dim = (nll/D + ln 256)/ln 2 of the nats reported beside it.
    assert.ok(Math.abs(run.testBitsPerDim! - (run.testNll / 16 + Math.log(256)) / Math.LN2) < 1e-9);
    assert.ok(run.pictures === undefined);
  }
  assert.match(formatCnfTable(result.runs), /bits\/dim/);
  await assert.rejects(
    runCnfExperiment({ preset: "paper", data: dir, trainSize: 50, out: false }),
    /the files hold 12 and 4/,
  );
  await Deno.remove(dir, { recursive: true });
});
