/**
 * The continuous-normalising-flow experiment of "Hey, that's not an ODE" (Kidger, Chen & Lyons,
 * 2021; its Table 2, FFJORD on MNIST) as a function, {@link runCnfExperiment}: train an FFJORD
 * CNF once with each backward norm and the same seed ({@link compareNorms}) and compare the test
 * NLL (bits/dim for images) and the forward and backward NFE. On 2-D data each trained model's
 * density is also evaluated on a grid (its mass there is reported: it should be 1), sampled, and
 * a few points are followed through the flow, for the notebook's figures.
 *
 * Each run is saved by the training harness under `<out>/cnf/`, in a folder per configuration
 * named from `<preset>-<data>-<norm>-<rtol>-<atol>` (`configName`).
 *
 * @example A tiny run of both norms (nothing saved)
 * ```ts
 * import assert from "node:assert/strict";
 * import { runCnfExperiment } from "@fasterode/fasterode/experiments";
 * const { runs } = await runCnfExperiment({
 *   epochs: 1, width: 8, depth: 1, trainSize: 16, valSize: 8, testSize: 8, batchSize: 8,
 *   rtol: 1e-2, atol: 1e-2, out: false, progress: "none", gridSize: 10,
 * });
 * assert.deepEqual(runs.map((r) => r.norm), ["default", "seminorm"]);
 * assert.ok(runs.every((r) => r.backwardNfe > 0 && Number.isFinite(r.testNll)));
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { NormName } from "../../mod.ts";
import { seededRandom } from "../../models/data/mod.ts";
import {
  bitsPerDim,
  Cnf,
  dequantize,
  loadMnist,
  logitTransform,
  TimeMlp,
  toyData,
  type ToyDensity,
} from "../../models/cnf/mod.ts";
import {
  compareNorms,
  configName,
  type NormRun,
  resolveComparison,
  type StepOptions,
  type StepResult,
  tensorSplit,
  type Trainable,
  trainingOptions,
} from "../harness/mod.ts";
import {
  type CnfExperimentOptions,
  type CnfModelSettings,
  type CnfPresetName,
  type CnfSettings,
  resolveCnfSettings,
} from "./settings.ts";

/** What a trained 2-D model looks like, for the figures. */
export interface CnfPictures {
  /** The grid: `n × n` cell centres on `[lo, hi]²`, `logp[i·n + j]` at `(x_i, y_j)`. */
  grid: { lo: number; hi: number; n: number; logp: number[] };
  /** The density's mass on the grid (midpoint rule): close to 1 for a sound flow. */
  mass: number;
  /** Samples `[k][2]` from the model. */
  samples: number[][];
  /** Training points `[k][2]` (the data beside the samples). */
  data: number[][];
  /**
   * Points followed through the flow from data (`t = 0`) to the base (`t = T`):
   * `points[time][point][2]` at `times`.
   */
  trajectories: { times: number[]; points: number[][][] };
}

/** The outcome of one norm's run: the comparison's measures and the test likelihood. */
export interface CnfRun extends NormRun {
  /** Test negative log-likelihood of the best model, nats per example (exact or estimated). */
  testNll: number;
  /** Bits per dimension of {@link CnfRun.testNll} (MNIST only). */
  testBitsPerDim?: number;
  /** The 2-D model's density, samples and trajectories. */
  pictures?: CnfPictures;
}

/** What {@link runCnfExperiment} returns. */
export interface CnfExperimentResult {
  /** The preset the settings started from. */
  preset: CnfPresetName;
  /** The numeric settings used, overrides applied. */
  settings: CnfSettings;
  /** The data and the field. */
  model: CnfModelSettings;
  /** Examples in the train, val and test splits. */
  sizes: { train: number; val: number; test: number };
  /** Data dimension. */
  dim: number;
  /** Trainable scalars. */
  parameters: number;
  /** The tfjs backend the runs used. */
  backend: string;
  /** One run per norm, in the order asked for. */
  runs: CnfRun[];
}

/** The run's configuration, known before training: the result without the runs. */
export type CnfExperimentConfig = Omit<CnfExperimentResult, "runs">;

/** A batch: points `[B, D]` (2-D data) or pixels `[B, 784]` 0–255 (MNIST). */
type CnfBatch = { x: tf.Tensor };

/** The splits, as tensors. */
interface CnfData {
  train: tf.Tensor2D;
  val: tf.Tensor2D;
  test: tf.Tensor2D;
  dim: number;
  images: boolean;
}

/** The splits: drawn from the 2-D density (three seeds), or read from MNIST's IDX files. */
async function loadData(
  model: CnfModelSettings,
  settings: CnfSettings,
  seed: number,
  dir?: string,
): Promise<CnfData> {
  if (model.density !== "mnist") {
    const draw = (n: number, k: number) =>
      toyData(model.density as ToyDensity, n, seededRandom(1000 * seed + k));
    return {
      train: draw(settings.trainSize, 1),
      val: draw(settings.valSize, 2),
      test: draw(settings.testSize, 3),
      dim: 2,
      images: false,
    };
  }
  const train = await loadMnist(dir!, "train");
  const test = await loadMnist(dir!, "test");
  const D = train.rows * train.cols;
  const need = settings.trainSize + settings.valSize;
  if (need > train.count || settings.testSize > test.count) {
    throw new RangeError(
      `cnf: asked for ${settings.trainSize} + ${settings.valSize} training and ` +
        `${settings.testSize} test images; the files hold ${train.count} and ${test.count}`,
    );
  }
  const rows = (images: Uint8Array, from: number, n: number) =>
    tf.tensor2d(new Float32Array(images.subarray(from * D, (from + n) * D)), [n, D]);
  return {
    train: rows(train.images, 0, settings.trainSize),
    val: rows(train.images, settings.trainSize, settings.valSize),
    test: rows(test.images, 0, settings.testSize),
    dim: D,
    images: true,
  };
}

/**
 * The flow's input for a batch: the points themselves, or dequantised, logit-transformed pixels
 * and the transform's log-Jacobian.
 */
function prepare(
  batch: tf.Tensor,
  images: boolean,
  random: () => number,
): { x: tf.Tensor2D; logDet?: tf.Tensor1D } {
  if (!images) return { x: batch as tf.Tensor2D };
  const u = dequantize(batch, random) as tf.Tensor2D;
  const out = logitTransform(u);
  u.dispose();
  return { x: out.y, logDet: out.logDet };
}

/** A {@link Cnf} as the harness's `Trainable`, with a fixed backward norm. */
function trainable(
  cnf: Cnf,
  norm: NormName,
  settings: CnfSettings,
  model: CnfModelSettings,
  images: boolean,
  seed: number,
): Trainable<CnfBatch> {
  const random = seededRandom(seed + 17); // the dequantisation noise, the same for every norm
  return {
    variables: cnf.variables,
    description: `FFJORD CNF: ${model.layer} MLP ${settings.width}×${settings.depth} ` +
      `(${model.activation}), ${model.trace} trace, T = ${settings.time}; ` +
      `${cnf.parameterCount} parameters`,
    async step(batch: CnfBatch, options: StepOptions): Promise<StepResult> {
      const { x, logDet } = prepare(batch.x, images, random);
      try {
        return await cnf.step(x, {
          rtol: settings.rtol,
          atol: settings.atol,
          record: options.record,
          logDet,
          adjoint: { norm },
        });
      } finally {
        if (images) tf.dispose([x, logDet!]);
      }
    },
  };
}

/** Mean test NLL (nats per example) of a trained flow, by forward solves batch by batch. */
async function testNll(
  cnf: Cnf,
  test: tf.Tensor2D,
  settings: CnfSettings,
  images: boolean,
  seed: number,
): Promise<number> {
  const random = seededRandom(seed + 29);
  const n = test.shape[0];
  let total = 0;
  for (let start = 0; start < n; start += settings.batchSize) {
    const size = Math.min(settings.batchSize, n - start);
    const batch = tf.slice(test, [start, 0], [size, -1]);
    const { x, logDet } = prepare(batch, images, random);
    const { logp } = await cnf.logDensity(x, {
      rtol: settings.rtol,
      atol: settings.atol,
      logDet,
    });
    const sum = tf.sum(logp);
    total -= (await sum.data())[0];
    tf.dispose([batch, x, logDet, logp, sum].filter((t) => t !== undefined) as tf.Tensor[]);
  }
  return total / n;
}

/** The 2-D model's density on a grid, samples and trajectories. */
async function pictures(
  cnf: Cnf,
  train: tf.Tensor2D,
  settings: CnfSettings,
  n: number,
): Promise<CnfPictures> {
  const tol = { rtol: settings.rtol, atol: settings.atol };
  // The grid covers the data with a margin of 1.5 (the densities lie within ±4.5).
  const lo = -6, hi = 6, h = (hi - lo) / n;
  const pts = new Float32Array(2 * n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      pts[2 * (i * n + j)] = lo + (i + 0.5) * h;
      pts[2 * (i * n + j) + 1] = lo + (j + 0.5) * h;
    }
  }
  const grid = tf.tensor2d(pts, [n * n, 2]);
  const { logp } = await cnf.logDensity(grid, tol);
  const logpValues = Array.from(await logp.data());
  tf.dispose([grid, logp]);
  const mass = logpValues.reduce((s, v) => s + Math.exp(v), 0) * h * h;
  const samplesT = await cnf.sample(500, tol);
  const samples = (await samplesT.array()) as number[][];
  samplesT.dispose();
  const k = Math.min(500, train.shape[0]);
  const dataT = tf.slice(train, [0, 0], [k, 2]);
  const data = (await dataT.array()) as number[][];
  const times = Array.from({ length: 11 }, (_, i) => (cnf.time * i) / 10);
  const start = tf.slice(train, [0, 0], [Math.min(16, k), 2]) as tf.Tensor2D;
  const { ys } = await cnf.flow(start, times, tol);
  const points = (await ys.array()) as number[][][];
  tf.dispose([dataT, start, ys]);
  return {
    grid: { lo, hi, n, logp: logpValues },
    mass,
    samples,
    data,
    trajectories: { times, points },
  };
}

/**
 * Trains an FFJORD CNF on the chosen data once per norm (same seed, same batches), saves each
 * run's result JSON and returns the runs with their test NLL (and bits/dim), and for 2-D data
 * the trained density, samples and trajectories. The tfjs backend is whatever is active; the
 * command line selects it. Nothing is left allocated, also when a run throws.
 *
 * @param options Preset, overrides, the data folder (MNIST) and where to save.
 * @returns The settings, split sizes and one run per norm.
 * @throws {TypeError | RangeError} On bad options, before any work.
 */
export async function runCnfExperiment(
  options: CnfExperimentOptions = {},
): Promise<CnfExperimentResult> {
  const { preset, settings, model } = resolveCnfSettings(options);
  const { seed } = resolveComparison("cnf", options);
  const gridSize = options.gridSize ?? 60;
  const data = await loadData(model, settings, seed, options.data);
  try {
    const sizes = { train: data.train.shape[0], val: data.val.shape[0], test: data.test.shape[0] };
    const hidden = new Array(settings.depth).fill(settings.width);
    const { runs, parameters, backend } = await compareNorms({
      experiment: "cnf",
      results: "cnf",
      preset,
      norms: options.norms,
      seed,
      out: options.out,
      checkpoint: options.checkpoint,
      resume: options.resume,
      data: {
        train: tensorSplit({ x: data.train }),
        val: tensorSplit({ x: data.val }),
        test: tensorSplit({ x: data.test }),
      },
      model: (s) =>
        new Cnf(
          new TimeMlp({
            dim: data.dim,
            hidden,
            layer: model.layer,
            activation: model.activation,
            seed: s,
          }),
          {
            trace: model.trace,
            noise: model.noise,
            kineticWeight: model.kineticWeight,
            jacobianWeight: model.jacobianWeight,
            time: settings.time,
            seed: s,
          },
        ),
      trainable: (cnf, norm) => trainable(cnf, norm, settings, model, data.images, seed),
      name: (norm) => configName([preset, model.density, norm, settings.rtol, settings.atol]),
      config: { ...settings, ...model, sizes, dim: data.dim },
      training: trainingOptions(settings, options),
      onProgress: options.onProgress,
      onStart: ({ parameters, backend }) =>
        options.onConfig?.({ preset, settings, model, sizes, dim: data.dim, parameters, backend }),
      finish: async (cnf, _run): Promise<Omit<CnfRun, keyof NormRun>> => {
        const nll = await testNll(cnf, data.test, settings, data.images, seed);
        if (data.images) return { testNll: nll, testBitsPerDim: bitsPerDim(nll, data.dim) };
        return { testNll: nll, pictures: await pictures(cnf, data.train, settings, gridSize) };
      },
    });
    return { preset, settings, model, sizes, dim: data.dim, parameters, backend, runs };
  } finally {
    tf.dispose([data.train, data.val, data.test]);
  }
}
