import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import type { SolveStats } from "../../../mod.ts";
import { AdamW } from "../../../experiments/harness/adamw.ts";
import { batchIndices, type Split, tensorSplit } from "../../../experiments/harness/splits.ts";
import { plateauSchedule } from "../../../experiments/harness/plateau.ts";
import {
  type BatchProgress,
  formatProgress,
  type MetricsProgress,
  type ProgressEvent,
  progressReporter,
} from "../../../experiments/harness/progress.ts";
import {
  configName,
  keyedName,
  readResults,
  saveResult,
} from "../../../experiments/harness/results.ts";
import { resolveTrainOptions } from "../../../experiments/harness/train_options.ts";
import { evaluate } from "../../../experiments/harness/evaluate.ts";
import type { StepOptions, TrainStepResult } from "../../../experiments/harness/trainable.ts";
import { train } from "../../../experiments/harness/train.ts";

await tf.setBackend("cpu");

type Batch = { x: tf.Tensor2D; y: tf.Tensor1D };

/** Fake solve statistics of a batch of n examples: NFE 2 + 6n forward, 3 + 7n backward. */
function fakeStats(n: number, backward: boolean, record: boolean): SolveStats {
  const nfe = backward ? 3 + 7 * n : 2 + 6 * n;
  const stats: SolveStats = { nfe, nAccepted: n, nRejected: 1 };
  if (record) {
    stats.evalTs = Array.from({ length: nfe }, (_, i) => i / nfe);
    stats.acceptTs = Array.from({ length: n }, (_, i) => (i + 1) / n);
    stats.rejectTs = [0.5];
  }
  return stats;
}

/**
 * Linear regression y ≈ x·w + b standing in for an ODE model. `script(trainSteps)` replaces the
 * loss that metric passes see (to steer best-model / plateau logic); `classify` adds `correct`.
 * At every metric batch it snapshots the weights, keyed by the number of training steps so far.
 */
class FakeModel {
  w = tf.tidy(() => tf.variable(tf.tensor1d([0.1, -0.2, 0.3])));
  b = tf.tidy(() => tf.variable(tf.scalar(0)));
  variables = [this.w, this.b];
  description = "fake linear model";
  trainSteps = 0;
  snapshots = new Map<number, number[]>();
  calls: StepOptions[] = [];
  constructor(
    readonly opts: {
      script?: (trainSteps: number) => number;
      classify?: boolean;
      throwAt?: number;
      record?: boolean;
    } = {},
  ) {}

  async step(batch: Batch, options: StepOptions): Promise<TrainStepResult> {
    this.calls.push(options);
    if (options.training && this.trainSteps === this.opts.throwAt) throw new Error("solver failed");
    const { value, grads } = tf.variableGrads(() => {
      const pred = tf.add(tf.squeeze(tf.matMul(batch.x, tf.reshape(this.w, [3, 1])), [1]), this.b);
      return tf.losses.meanSquaredError(batch.y, pred) as tf.Scalar;
    }, this.variables);
    let loss = (await value.data())[0];
    value.dispose();
    const n = batch.x.shape[0];
    if (options.training) {
      this.trainSteps++;
    } else {
      if (this.opts.script) loss = this.opts.script(this.trainSteps);
      // The first metric pass after a training step wins (the final passes come later).
      if (!this.snapshots.has(this.trainSteps)) {
        this.snapshots.set(this.trainSteps, [...await this.w.data(), ...await this.b.data()]);
      }
    }
    const record = this.opts.record ?? options.record;
    let correct: number | undefined;
    if (this.opts.classify) {
      const c = tf.tidy(() => tf.sum(tf.cast(tf.greater(batch.y, 0), "int32")));
      correct = (await c.data())[0];
      c.dispose();
    }
    return {
      loss,
      count: n,
      ...(correct === undefined ? {} : { correct }),
      grads,
      forward: fakeStats(n, false, record),
      backward: fakeStats(n, true, record),
    };
  }

  dispose(): void {
    tf.dispose(this.variables);
  }
}

function makeData(n: number, seed: number): { x: tf.Tensor2D; y: tf.Tensor1D } {
  return tf.tidy(() => {
    const x = tf.randomNormal([n, 3], 0, 1, "float32", seed) as tf.Tensor2D;
    const y = tf.add(tf.squeeze(tf.matMul(x, tf.tensor2d([[1], [-2], [0.5]])), [1]), 0.7);
    return { x, y: y as tf.Tensor1D };
  });
}

/** 20 training examples in batches of 6 (4 batches: 6, 6, 6, 2), 10 validation, 7 test. */
function fixture(): {
  train: Split<Batch>;
  val: Split<Batch>;
  test: Split<Batch>;
  dispose: () => void;
} {
  const a = makeData(20, 1);
  const b = makeData(10, 2);
  const c = makeData(7, 3);
  return {
    train: tensorSplit(a),
    val: tensorSplit(b),
    test: tensorSplit(c),
    dispose: () => tf.dispose([a, b, c]),
  };
}

const BATCHES = 4; // per training epoch with batchSize 6

/** Eval loss as a function of the epoch whose training just ended. */
function byEpoch(losses: number[]): (trainSteps: number) => number {
  return (steps) => losses[Math.min(steps / BATCHES - 1, losses.length - 1)] ?? losses[0];
}

Deno.test("AdamW matches a hand-computed AdamW update (PyTorch semantics)", () => {
  const before = tf.memory().numTensors;
  const p0 = [0.5, -1.5, 2, 0.25];
  const gs = [
    [0.1, -0.3, 1e-9, 2],
    [-0.2, -0.1, 1e-9, 1.5],
    [0.05, 0.4, -1e-9, -1],
  ];
  const lrs = [0.01, 0.01, 0.05]; // the rate is changed before the third step
  const wd = 0.1;
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  // Reference in float64: p ← p(1 − lr·wd); m, v; p ← p − lr·m̂/(√v̂ + ε).
  const p = [...p0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  const adamOnly = [...p0]; // the same without decay, to show the decay is visible
  gs.forEach((g, k) => {
    const t = k + 1;
    for (let i = 0; i < p.length; i++) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2;
      const step = lrs[k] * (m[i] / (1 - b1 ** t)) / (Math.sqrt(v[i] / (1 - b2 ** t)) + eps);
      p[i] = p[i] * (1 - lrs[k] * wd) - step;
      adamOnly[i] -= step;
    }
  });
  // Two variables (a vector and a scalar) to exercise the per-name bookkeeping.
  const w = tf.tidy(() => tf.variable(tf.tensor1d(p0.slice(0, 3))));
  const s = tf.tidy(() => tf.variable(tf.scalar(p0[3])));
  const opt = new AdamW({ learningRate: lrs[0], weightDecay: wd });
  assert.equal(opt.lr, lrs[0]);
  gs.forEach((g, k) => {
    opt.lr = lrs[k];
    const gw = tf.tensor1d(g.slice(0, 3));
    const gsc = tf.scalar(g[3]);
    // The second step lists the variables in the other order: moments must follow the names.
    const grads = k === 1 ? { [s.name]: gsc, [w.name]: gw } : { [w.name]: gw, [s.name]: gsc };
    opt.applyGradients(grads);
    tf.dispose([gw, gsc]);
  });
  const got = [...w.dataSync(), ...s.dataSync()];
  // float32 arithmetic on O(1) values over 3 steps: errors ~1e-7; 2e-6 leaves margin, and the
  // decay's effect (≥ 4e-4 here) and ε's (the 1e-9 gradient moves ≈ 0.09·lr) are far larger.
  got.forEach((x, i) => {
    assert.ok(Math.abs(x - p[i]) <= 2e-6, `p[${i}] = ${x}, hand-computed ${p[i]}`);
    assert.ok(Math.abs(p[i] - adamOnly[i]) > 1e-4, "decay not visible in the reference");
  });
  assert.ok(Math.abs(got[2] - p0[2] * (1 - 0.01 * wd) ** 2 * (1 - 0.05 * wd)) > 1e-4);
  // A step with a different set of variables is refused, clearly.
  const gw = tf.zerosLike(w);
  assert.throws(() => opt.applyGradients({ [w.name]: gw }), /same variables.*missing: \[/);
  assert.throws(() => new AdamW({ learningRate: 0.1, weight_decay: 0.1 } as never), /unknown/);
  assert.throws(() => new AdamW({ learningRate: -1 }), /learningRate/);
  tf.dispose([gw, w, s]);
  opt.dispose();
  assert.equal(tf.memory().numTensors, before, "AdamW leaked tensors");
});

Deno.test("plateauSchedule follows ReduceLROnPlateau (min mode, rel threshold 1e-4)", () => {
  const sch = plateauSchedule({ patience: 1, factor: 0.5 });
  const lrs: number[] = [];
  let lr = 1;
  // 1.0 best; 0.99995 is not 1e-4 better; 0.9999 is not < 1·(1 − 1e-4) either (equal); then cut.
  for (const loss of [1, 0.99995, 0.5, 0.5, 0.5, NaN, NaN]) lrs.push(lr = sch.step(loss, lr));
  assert.deepEqual(lrs, [1, 1, 1, 1, 0.5, 0.5, 0.25]);
  assert.equal(sch.best, 0.5);
  assert.throws(() => plateauSchedule({ factor: 1 }), /factor/);
});

Deno.test("batchIndices covers every example once, seeded shuffles are reproducible", () => {
  const a = batchIndices(20, 6, mulberry(3));
  assert.deepEqual(a.map((b) => b.length), [6, 6, 6, 2]);
  assert.deepEqual(a.flat().sort((x, y) => x - y), Array.from({ length: 20 }, (_, i) => i));
  assert.deepEqual(batchIndices(20, 6, mulberry(3)), a);
  assert.notDeepEqual(batchIndices(20, 6, mulberry(4)), a);
});

function mulberry(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("evaluate: example-weighted loss, accuracy, NFE sums and recorded times", async () => {
  const data = fixture();
  const model = new FakeModel({ classify: true });
  const before = tf.memory().numTensors;
  const m = await evaluate(model, data.train, { batchSize: 6, recordTimes: true });
  // The example-weighted mean of per-batch MSEs is the MSE over the whole split.
  const full = tf.tidy(() => {
    const { x, y } = data.train.batch(Array.from({ length: 20 }, (_, i) => i));
    const pred = tf.add(tf.squeeze(tf.matMul(x, tf.reshape(model.w, [3, 1])), [1]), model.b);
    return tf.losses.meanSquaredError(y, pred);
  });
  const fullLoss = (await full.data())[0];
  full.dispose();
  assert.ok(Math.abs(m.loss - fullLoss) <= 1e-6 * fullLoss, `${m.loss} vs ${fullLoss}`);
  const all = data.train.batch(Array.from({ length: 20 }, (_, i) => i));
  const pos = tf.tidy(() => tf.sum(tf.cast(tf.greater(all.y, 0), "int32")));
  const positives = (await pos.data())[0];
  tf.dispose([all, pos]);
  assert.equal(m.accuracy, positives / 20);
  assert.equal(m.datasetSize, 20);
  assert.equal(m.batches, 4);
  assert.equal(m.forwardNfe, 2 * 4 + 6 * 20);
  assert.equal(m.backwardNfe, 3 * 4 + 7 * 20);
  assert.deepEqual(
    [m.forwardAccepted, m.forwardRejected, m.backwardAccepted, m.backwardRejected],
    [20, 4, 20, 4],
  );
  assert.equal(m.forwardTs!.length, m.forwardNfe);
  assert.equal(m.backwardTs!.length, m.backwardNfe);
  assert.equal(m.forwardAcceptTs!.length, 20);
  assert.deepEqual(m.backwardRejectTs, [0.5, 0.5, 0.5, 0.5]);
  assert.ok(m.timespan >= 0 && !Number.isNaN(Date.parse(m.timestamp)));
  assert.ok(model.calls.every((c) => c.record && !c.training));
  // Regression: no `correct` → accuracy null; no recordTimes → no time arrays.
  const reg = await evaluate(new FakeModel(), data.val, { batchSize: 4 });
  assert.equal(reg.accuracy, null);
  assert.equal(reg.forwardTs, undefined);
  // Asked to record, but the model's stats have no times: a clear error.
  await assert.rejects(
    evaluate(new FakeModel({ record: false }), data.val, { batchSize: 4, recordTimes: true }),
    /asked to record/,
  );
  assert.equal(
    tf.memory().numTensors,
    before + 4,
    "evaluate leaked (4 = the two later models' variables)",
  );
  data.dispose();
});

Deno.test("train: metric epochs every k-th epoch and the last, one optimiser step per batch", async () => {
  const data = fixture();
  for (const [maxEpochs, expected] of [[7, [0, 3, 6]], [8, [0, 3, 6, 7]], [1, [0]]] as const) {
    const model = new FakeModel();
    const events: ProgressEvent[] = [];
    const r = await train(model, data, {
      maxEpochs,
      batchSize: 6,
      learningRate: 0.05,
      epochsPerMetric: 3,
      onProgress: (e) => events.push(e),
    });
    assert.deepEqual(r.history.map((h) => h.epoch), expected);
    assert.equal(r.epochs, maxEpochs);
    assert.equal(model.trainSteps, maxEpochs * BATCHES);
    const trainBatches = events.filter((e): e is BatchProgress =>
      e.kind === "batch" && e.phase === "train"
    );
    assert.equal(trainBatches.length, maxEpochs * BATCHES);
    // The result carries the training steps' NFE per epoch: the sums over its batches' events.
    assert.equal(r.trainingNfe.length, maxEpochs);
    r.trainingNfe.forEach((nfe, epoch) => {
      const steps = trainBatches.filter((e) => e.epoch === epoch);
      assert.equal(steps.length, BATCHES);
      assert.deepEqual(nfe, {
        forward: steps.reduce((n, e) => n + e.forwardNfe, 0),
        backward: steps.reduce((n, e) => n + e.backwardNfe, 0),
      });
    });
    const metrics = events.filter((e): e is MetricsProgress => e.kind === "metrics");
    assert.deepEqual(metrics.map((e) => e.entry.epoch), expected);
    // Metric passes run over both splits without a step: val has 10 examples → 2 batches.
    const evalVal = events.filter((e) => e.kind === "batch" && e.phase === "eval:val");
    assert.equal(evalVal.length, expected.length * 2);
    for (const h of r.history) {
      assert.equal(h.train.datasetSize, 20);
      assert.equal(h.val.datasetSize, 10);
      assert.equal(h.val.forwardNfe, 2 * 2 + 6 * 10);
      assert.equal(h.train.forwardTs, undefined); // recordTimes off
    }
    assert.equal(r.test!.datasetSize, 7);
    assert.equal(r.parameters, 4);
    assert.equal(r.backend, "cpu");
    assert.equal(r.path, null);
    model.dispose();
  }
  // Training reduces the loss of this convex problem (the optimiser is really stepping).
  const model = new FakeModel();
  const r = await train(model, data, {
    maxEpochs: 30,
    batchSize: 6,
    learningRate: 0.1,
    weightDecay: 0,
    progress: "none",
  });
  assert.ok(r.train.loss < 0.05 * r.history[0].train.loss, `${r.train.loss}`);
  model.dispose();
  data.dispose();
});

Deno.test("train: keeps the best model by training loss (×1.0001) and restores it", async () => {
  const data = fixture();
  //                  epoch: 0  1  2  3  4    5  6
  const model = new FakeModel({ script: byEpoch([5, 4, 3, 2, 2.5, 3, 4]) });
  const r = await train(model, data, {
    maxEpochs: 7,
    batchSize: 6,
    learningRate: 0.05,
    epochsPerMetric: 1,
    progress: "none",
  });
  assert.equal(r.bestEpoch, 3);
  assert.equal(r.bestTrainLoss, 2);
  const atBest = model.snapshots.get(4 * BATCHES)!;
  const atEnd = model.snapshots.get(7 * BATCHES)!;
  const now = [...await model.w.data(), ...await model.b.data()];
  assert.deepEqual(now, atBest, "the best model's weights are restored");
  assert.ok(now.some((x, i) => Math.abs(x - atEnd[i]) > 1e-4), "the test needs weights that moved");
  model.dispose();

  // An improvement must beat the best by the relative 1e-4: 0.99995 does not, 0.5 does.
  const events: ProgressEvent[] = [];
  const m2 = new FakeModel({ script: byEpoch([1, 0.99995, 0.5]) });
  const r2 = await train(m2, data, {
    maxEpochs: 3,
    batchSize: 6,
    learningRate: 0.05,
    epochsPerMetric: 1,
    onProgress: (e) => events.push(e),
  });
  const improved = events.filter((e): e is MetricsProgress => e.kind === "metrics")
    .map((e) => e.improved);
  assert.deepEqual(improved, [true, false, true]);
  assert.equal(r2.bestEpoch, 2);
  m2.dispose();
  data.dispose();
});

Deno.test("train: learning rate cut ×factor after `plateauPatience` non-improving evaluations", async () => {
  const data = fixture();
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * b;
  const model = new FakeModel({ script: () => 1 });
  const r = await train(model, data, {
    maxEpochs: 8,
    batchSize: 6,
    learningRate: 0.1,
    epochsPerMetric: 1,
    progress: "none",
  });
  // Evaluation 0 sets the best; 1, 2 are within patience 2; 3 cuts (used from epoch 4); 6 again.
  const expected = [0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001];
  r.history.forEach((h, i) => assert.ok(close(h.lr, expected[i]), `epoch ${i}: lr ${h.lr}`));
  assert.ok(close(r.finalLr, 0.001));
  model.dispose();
  // Patience counts metric evaluations, not epochs; patience 0 cuts at every non-improvement.
  const m2 = new FakeModel({ script: () => 1 });
  const r2 = await train(m2, data, {
    maxEpochs: 21,
    batchSize: 6,
    learningRate: 0.1,
    plateauPatience: 0,
    plateauFactor: 0.5,
    progress: "none",
  });
  assert.deepEqual(r2.history.map((h) => h.epoch), [0, 10, 20]);
  assert.deepEqual(r2.history.map((h) => h.lr), [0.1, 0.1, 0.05]);
  assert.equal(r2.finalLr, 0.025);
  m2.dispose();
  data.dispose();
});

Deno.test("train: early stop after `plateauTerminate` epochs without improvement", async () => {
  const data = fixture();
  const model = new FakeModel({ script: () => 1 });
  const events: ProgressEvent[] = [];
  const r = await train(model, data, {
    maxEpochs: 50,
    batchSize: 6,
    learningRate: 0.1,
    epochsPerMetric: 1,
    plateauTerminate: 5,
    onProgress: (e) => events.push(e),
  });
  // Best at epoch 0; the seed breaks once epoch > best epoch + 5, i.e. after epoch 6.
  assert.equal(r.epochs, 7);
  assert.equal(r.stoppedEarly, true);
  assert.deepEqual(r.history.map((h) => h.epoch), [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(model.trainSteps, 7 * BATCHES);
  assert.ok(events.some((e) => e.kind === "message" && /no improvement/.test(e.text)));
  model.dispose();
  // Only metric epochs check it (as the paper's code): with metrics every 10 epochs, the run stops at
  // epoch 10, the first metric epoch past 0 + 3.
  const m2 = new FakeModel({ script: () => 1 });
  const r2 = await train(m2, data, {
    maxEpochs: 50,
    batchSize: 6,
    learningRate: 0.1,
    plateauTerminate: 3,
    progress: "none",
  });
  assert.equal(r2.epochs, 11);
  assert.equal(r2.stoppedEarly, true);
  assert.deepEqual(r2.history.map((h) => h.epoch), [0, 10]);
  m2.dispose();
  data.dispose();
});

Deno.test("train: results JSON shape, next free run number, atomic writes", async () => {
  const data = fixture();
  const dir = await Deno.makeTempDir();
  const model = new FakeModel({ classify: true });
  const config = { norm: "seminorm", rtol: 1e-3 };
  // The folder: the readable name and the hash of every setting (train's defaults filled in).
  const training = resolveTrainOptions({
    maxEpochs: 3,
    batchSize: 6,
    learningRate: 0.05,
    epochsPerMetric: 2,
    recordTimes: true,
  });
  const keyed = await keyedName(configName(["seminorm", 1e-3]), { config, training });
  assert.match(keyed.name, /^seminorm-0-001-[0-9a-f]{10}$/);
  const folder = `${dir}/toy/${keyed.name}`;
  await Deno.mkdir(folder, { recursive: true });
  await Deno.writeTextFile(`${folder}/0.json`, "{}");
  await Deno.writeTextFile(`${folder}/2.json`, "{}");
  const r = await train(model, data, {
    maxEpochs: 3,
    batchSize: 6,
    learningRate: 0.05,
    epochsPerMetric: 2,
    recordTimes: true,
    config,
    save: { dir, experiment: "toy", name: "seminorm-0-001" },
    progress: "none",
  });
  assert.equal(r.path, `${folder}/3.json`);
  assert.equal(r.run, 3);
  const names = [];
  for await (const e of Deno.readDir(folder)) names.push(e.name);
  assert.deepEqual(names.sort(), ["0.json", "2.json", "3.json"], "no temporary files left");
  const saved = JSON.parse(await Deno.readTextFile(r.path!));
  assert.deepEqual(Object.keys(saved).sort(), [
    "backend",
    "bestEpoch",
    "bestTrainLoss",
    "comparisonKey",
    "config",
    "epochs",
    "experiment",
    "finalLr",
    "history",
    "model",
    "name",
    "parameters",
    "run",
    "settingsKey",
    "startTime",
    "stoppedEarly",
    "test",
    "timespan",
    "train",
    "training",
    "trainingNfe",
    "val",
  ]);
  assert.deepEqual(saved.config, config);
  assert.equal(saved.experiment, "toy");
  assert.equal(saved.name, keyed.name);
  assert.equal(saved.settingsKey, keyed.settingsKey);
  // Another setting (one more epoch) is another folder; the same settings, the same folder.
  const other = await keyedName("seminorm-0-001", {
    config,
    training: { ...training, maxEpochs: 4 },
  });
  assert.notEqual(other.name, keyed.name);
  assert.equal(saved.run, 3);
  assert.equal(saved.parameters, 4);
  assert.equal(saved.model, "fake linear model");
  assert.equal(saved.training.batchSize, 6);
  assert.equal(saved.training.plateauTerminate, 100);
  assert.ok(!Number.isNaN(Date.parse(saved.startTime)));
  assert.deepEqual(saved.history.map((h: { epoch: number }) => h.epoch), [0, 2]);
  assert.deepEqual(Object.keys(saved.history[0]).sort(), ["epoch", "lr", "train", "val"]);
  const metricKeys = [
    "accuracy",
    "backwardAcceptTs",
    "backwardAccepted",
    "backwardNfe",
    "backwardRejectTs",
    "backwardRejected",
    "backwardTs",
    "batches",
    "datasetSize",
    "forwardAcceptTs",
    "forwardAccepted",
    "forwardNfe",
    "forwardRejectTs",
    "forwardRejected",
    "forwardTs",
    "loss",
    "timespan",
    "timestamp",
  ];
  for (const m of [saved.history[1].train, saved.history[1].val, saved.train, saved.test]) {
    assert.deepEqual(Object.keys(m).sort(), metricKeys);
    assert.equal(m.forwardTs.length, m.forwardNfe);
    assert.ok(m.accuracy >= 0 && m.accuracy <= 1);
  }
  assert.equal(saved.test.datasetSize, 7);
  const { path: _path, ...record } = r;
  assert.deepEqual(saved, JSON.parse(JSON.stringify(record)), "the file holds the returned result");
  model.dispose();

  // Concurrent saves claim distinct numbers; a failing serialisation leaves no file behind.
  const runs = await Promise.all(
    Array.from({ length: 6 }, (_, i) => saveResult({ i }, { dir, experiment: "toy", name: "par" })),
  );
  assert.deepEqual(runs.map((x) => x.run).sort(), [0, 1, 2, 3, 4, 5]);
  await assert.rejects(
    saveResult({ bad: 1n }, { dir, experiment: "toy", name: "par" }),
    TypeError,
  );
  const parNames = [];
  for await (const e of Deno.readDir(`${dir}/toy/par`)) parNames.push(e.name);
  assert.equal(parNames.length, 6, `unexpected files: ${parNames}`);
  const all = await readResults(dir, "toy");
  assert.deepEqual(Object.keys(all), ["par", keyed.name]);
  assert.deepEqual(all.par.map((x) => (x as unknown as { i: number }).i).sort(), [
    0,
    1,
    2,
    3,
    4,
    5,
  ]);
  assert.throws(() => configName(["a/b"]), TypeError);
  await assert.rejects(
    train(new FakeModel(), data, {
      maxEpochs: 1,
      batchSize: 6,
      learningRate: 0.1,
      save: { dir, experiment: "..", name: "x" },
    }),
    /experiment/,
  );
  await Deno.remove(dir, { recursive: true });
  data.dispose();
});

Deno.test("train: no tensor leaks, also when a step throws; clear errors", async () => {
  const data = fixture();
  const model = new FakeModel({ classify: true });
  const before = tf.memory().numTensors;
  await train(model, data, {
    maxEpochs: 4,
    batchSize: 6,
    learningRate: 0.05,
    epochsPerMetric: 1,
    recordTimes: true,
    progress: "none",
  });
  assert.equal(tf.memory().numTensors, before, "train leaked tensors");
  const failing = new FakeModel({ throwAt: 2 * BATCHES + 1 });
  const nan = new FakeModel();
  tf.tidy(() => nan.b.assign(tf.scalar(NaN)));
  const partial = new FakeModel();
  const before2 = tf.memory().numTensors;
  // A solver failure in the middle of training (best-model copies exist by then).
  await assert.rejects(
    train(failing, data, {
      maxEpochs: 5,
      batchSize: 6,
      learningRate: 0.05,
      epochsPerMetric: 1,
      progress: "none",
    }),
    /solver failed/,
  );
  assert.equal(tf.memory().numTensors, before2, "a failed run leaked tensors");
  // A non-finite training loss names the epoch and batch.
  await assert.rejects(
    train(nan, data, { maxEpochs: 2, batchSize: 6, learningRate: 0.05, progress: "none" }),
    /loss is NaN at epoch 0, batch 1/,
  );
  // A step whose gradients do not match the variables.
  const realStep = partial.step.bind(partial);
  partial.step = async (batch, options) => {
    const out = await realStep(batch, options);
    tf.dispose(out.grads[partial.b.name]);
    delete out.grads[partial.b.name];
    return out;
  };
  await assert.rejects(
    train(partial, data, { maxEpochs: 1, batchSize: 6, learningRate: 0.05, progress: "none" }),
    /gradient for exactly model.variables \(missing: \[/,
  );
  const opts = { maxEpochs: 1, batchSize: 6, learningRate: 0.05, progress: "none" } as const;
  await assert.rejects(train(model, data, { ...opts, batch_size: 3 } as never), /unknown option/);
  await assert.rejects(train(model, data, { ...opts, batchSize: 0 }), /batchSize/);
  await assert.rejects(train(model, { ...data, val: undefined as never }, opts), /data\.val/);
  assert.equal(tf.memory().numTensors, before2, "error paths leaked tensors");
  tf.dispose([model.variables, failing.variables, nan.variables, partial.variables]);
  data.dispose();
});

Deno.test("train: maxEpochs 0 only evaluates the initial model", async () => {
  const data = fixture();
  const model = new FakeModel();
  const w0 = [...await model.w.data()];
  const r = await train(model, data, {
    maxEpochs: 0,
    batchSize: 6,
    learningRate: 0.1,
    progress: "none",
  });
  assert.deepEqual(r.history, []);
  assert.equal(r.epochs, 0);
  assert.equal(r.bestEpoch, null);
  assert.deepEqual([...await model.w.data()], w0);
  assert.equal(r.val.datasetSize, 10);
  model.dispose();
  data.dispose();
});

Deno.test("progress: lines for metrics and messages, batch lines at most every interval", () => {
  const lines: string[] = [];
  const rep = progressReporter("lines", { write: (l) => lines.push(l), interval: 10 });
  const batch = (elapsed: number): ProgressEvent => ({
    kind: "batch",
    phase: "train",
    epoch: 0,
    maxEpochs: 2,
    batch: 1,
    batches: 4,
    loss: 0.5,
    forwardNfe: 26,
    backwardNfe: 40,
    lr: 1.6e-3,
    elapsed,
  });
  rep.report(batch(1)); // too soon after the start
  rep.report(batch(11));
  rep.report(batch(12)); // too soon after the previous line
  const m = {
    loss: 0.25,
    accuracy: 0.875,
    datasetSize: 8,
    batches: 1,
    forwardNfe: 100,
    backwardNfe: 60,
    forwardAccepted: 16,
    forwardRejected: 0,
    backwardAccepted: 9,
    backwardRejected: 1,
    timespan: 0.1,
    timestamp: new Date(0).toISOString(),
  };
  rep.report({
    kind: "metrics",
    entry: { epoch: 0, lr: 1.6e-3, train: m, val: { ...m, accuracy: null } },
    maxEpochs: 2,
    improved: true,
    nextLr: 1.6e-4,
    elapsed: 13,
  });
  rep.close();
  assert.deepEqual(lines, [
    "epoch 1/2 train 1/4 loss 0.5000 nfe 26/40 lr 1.6e-3 [11s]",
    "epoch 1/2 metrics: train loss 0.2500 acc 0.8750 nfe 100/60 | val loss 0.2500 nfe 100/60 | " +
    "lr 1.6e-3 -> 1.6e-4 * [13s]",
  ]);
  assert.equal(formatProgress({ kind: "message", text: "hi", elapsed: 3725 }), "hi [1h02m05s]");
  assert.throws(() => progressReporter("fancy" as never), /unknown mode/);
});
