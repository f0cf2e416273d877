/**
 * Results of training runs: the metrics the harness records, the per-run result object, and
 * saving it as one JSON file per run at `<dir>/<experiment>/<config name>/<n>.json`, written
 * atomically (an interrupted run never leaves a partial file). The harness names a run's folder
 * by its full configuration ({@link keyedName}: a readable name plus a short hash of every
 * setting), so runs of different settings never share a folder; the settings are inside each
 * file (`config`, `training`, `settingsKey`).
 *
 * @module
 */
import { join } from "node:path";
import { sha256Hex, sweepStaleCacheWrites } from "../../models/data/mod.ts";

/**
 * Metrics of one pass over a split without an optimiser step (forward and adjoint backward
 * solve of every batch), as the paper's `_evaluate_metrics` records them.
 */
export interface Metrics {
  /** Mean loss over examples: Σ batch loss · batch size / N. */
  loss: number;
  /** Correct / N for classifiers; `null` for regression (the paper's NaN). */
  accuracy: number | null;
  /** Number of examples N. */
  datasetSize: number;
  /** Number of batches. */
  batches: number;
  /** Forward-solve evaluations, summed over batches. */
  forwardNfe: number;
  /** Backward (adjoint) solve evaluations, summed over batches. */
  backwardNfe: number;
  /** Accepted forward steps, summed over batches. */
  forwardAccepted: number;
  /** Rejected forward steps, summed over batches. */
  forwardRejected: number;
  /** Accepted backward steps, summed over batches. */
  backwardAccepted: number;
  /** Rejected backward steps, summed over batches. */
  backwardRejected: number;
  /** Wall time of the pass, in seconds. */
  timespan: number;
  /** When the pass started (ISO 8601). */
  timestamp: string;
  /** With `recordTimes`: the time `t` of every forward evaluation, batches concatenated. */
  forwardTs?: number[];
  /** With `recordTimes`: end times of accepted forward steps. */
  forwardAcceptTs?: number[];
  /** With `recordTimes`: end times of rejected forward steps. */
  forwardRejectTs?: number[];
  /** With `recordTimes`: the time `t` of every backward evaluation. */
  backwardTs?: number[];
  /** With `recordTimes`: end times of accepted backward steps. */
  backwardAcceptTs?: number[];
  /** With `recordTimes`: end times of rejected backward steps. */
  backwardRejectTs?: number[];
}

/** One metric epoch of a run. */
export interface HistoryEntry {
  /** The epoch (0-based) after whose training the metrics were taken. */
  epoch: number;
  /** The learning rate used during that epoch. */
  lr: number;
  /** Metrics on the training split. */
  train: Metrics;
  /** Metrics on the validation split. */
  val: Metrics;
}

/** The function evaluations of one epoch's training steps, summed over its batches. */
export interface TrainingNfe {
  /** Forward-solve evaluations. */
  forward: number;
  /** Backward (adjoint) solve evaluations. */
  backward: number;
}

/** The harness settings of a run, defaults filled in. */
export interface TrainSettings {
  /** Most epochs. */
  maxEpochs: number;
  /** Examples per batch. */
  batchSize: number;
  /** Initial learning rate. */
  learningRate: number;
  /** AdamW decoupled weight decay. */
  weightDecay: number;
  /** Seed of the shuffling generator. */
  seed: number;
  /** Metrics every this many epochs (and at the last one). */
  epochsPerMetric: number;
  /** Plateau schedule: non-improving metric evaluations tolerated. */
  plateauPatience: number;
  /** Plateau schedule: factor of a cut. */
  plateauFactor: number;
  /** Early stop at the first metric epoch more than this many epochs after the best one. */
  plateauTerminate: number;
  /** Whether evaluation and step times were recorded. */
  recordTimes: boolean;
  /** Whether evaluation passes use shuffled batches (as the paper's loaders). */
  shuffleEval: boolean;
}

/** Everything recorded about one training run; saved as JSON by {@link saveResult}. */
export interface RunResult {
  /** Experiment (folder under the results directory), or `null` when not saved. */
  experiment: string | null;
  /** Configuration name (folder under the experiment), or `null` when not saved. */
  name: string | null;
  /** Run number `n` of the saved file `<n>.json`, or `null` when not saved. */
  run: number | null;
  /**
   * {@link settingsKey} of `{ config, training }`: every setting of the run (the end of the
   * folder name). Absent in results saved before it existed.
   */
  settingsKey?: string;
  /**
   * {@link settingsKey} of the same settings without `config.norm`: equal for the runs of one
   * comparison of the norms, the key to group them by.
   */
  comparisonKey?: string;
  /**
   * The run's checkpoint folder when it checkpointed: its final (best) model is saved there
   * (`loadFinishedRun` in checkpoint.ts loads it).
   */
  checkpoint?: string;
  /** The experiment's own configuration (norm, tolerances, widths, …), as given. */
  config: Record<string, unknown>;
  /** The harness settings. */
  training: TrainSettings;
  /** A description of the model, when the model gives one. */
  model: string | null;
  /** Number of trainable scalars. */
  parameters: number;
  /** The tfjs backend (`tf.getBackend()`). */
  backend: string;
  /** When training started (ISO 8601). */
  startTime: string;
  /** Wall time of the training loop including its metric passes, in seconds. */
  timespan: number;
  /** Epochs trained. */
  epochs: number;
  /** Whether training stopped early (no better training loss for `plateauTerminate` epochs). */
  stoppedEarly: boolean;
  /** The metric epoch of the restored (best) model, or `null` if none was recorded. */
  bestEpoch: number | null;
  /** Its training loss, or `null`. */
  bestTrainLoss: number | null;
  /** The learning rate at the end. */
  finalLr: number;
  /** Metrics at every metric epoch. */
  history: HistoryEntry[];
  /**
   * NFE of the training steps (with the optimiser step, not the metric passes), one entry per
   * trained epoch (`trainingNfe[e]` for epoch `e`).
   */
  trainingNfe: TrainingNfe[];
  /** Final training-split metrics, on the best model. */
  train: Metrics;
  /** Final validation metrics, on the best model. */
  val: Metrics;
  /** Final test metrics, on the best model, or `null` without a test split. */
  test: Metrics | null;
}

/** Where {@link saveResult} writes. */
export interface ResultLocation {
  /** The results directory. */
  dir: string;
  /** Experiment name, e.g. `"speech_commands"`. */
  experiment: string;
  /** Configuration name, e.g. from {@link configName}. */
  name: string;
}

function checkSegment(what: string, value: string): void {
  if (
    typeof value !== "string" || value === "" || value === "." || value === ".." ||
    /[\/\\\0]/.test(value)
  ) {
    throw new TypeError(`${what} must be a non-empty name without path separators, got "${value}"`);
  }
}

/**
 * A configuration name from its parts, joined by `-` with every `.` replaced by `-` (the paper's
 * folder names, e.g. `seminorm-0-001-1e-6`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { configName } from "@fasterode/fasterode/experiments";
 *
 * assert.equal(configName(["seminorm", 1e-3, 1e-6]), "seminorm-0-001-0-000001");
 * assert.equal(configName([true, 90, 40, 4]), "true-90-40-4");
 * ```
 */
export function configName(parts: (string | number | boolean)[]): string {
  if (!Array.isArray(parts) || parts.length === 0) {
    throw new TypeError("configName: give at least one part");
  }
  const name = parts.map(String).join("-").replaceAll(".", "-");
  checkSegment("configName", name);
  return name;
}

/** `value` as JSON with every object's keys sorted (the same settings give the same text). */
function canonicalJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) =>
      v !== null && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
        : v,
  );
}

/**
 * A short hash of `settings`: the first 10 hex digits of the SHA-256 of their JSON with sorted
 * keys, so key order does not matter and any changed value does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { settingsKey } from "@fasterode/fasterode/experiments";
 * const a = await settingsKey({ lr: 0.1, hidden: 16 });
 * assert.match(a, /^[0-9a-f]{10}$/);
 * assert.equal(await settingsKey({ hidden: 16, lr: 0.1 }), a);
 * assert.notEqual(await settingsKey({ hidden: 8, lr: 0.1 }), a);
 * ```
 */
export async function settingsKey(settings: unknown): Promise<string> {
  return (await sha256Hex(canonicalJson(settings))).slice(0, 10);
}

/**
 * The folder name of a run: its readable `name` (e.g. from {@link configName}) and the
 * {@link settingsKey} of its settings, `<name>-<key>`, with the comparison key (the settings
 * without `config.norm`).
 *
 * @example Runs that differ in one setting land in different folders
 * ```ts
 * import assert from "node:assert/strict";
 * import { keyedName } from "@fasterode/fasterode/experiments";
 * const training = { maxEpochs: 4, learningRate: 0.01 };
 * const a = await keyedName("small-default", { config: { norm: "default", hidden: 16 }, training });
 * const b = await keyedName("small-default", { config: { norm: "default", hidden: 8 }, training });
 * const c = await keyedName("small-seminorm", { config: { norm: "seminorm", hidden: 16 }, training });
 * assert.match(a.name, /^small-default-[0-9a-f]{10}$/);
 * assert.notEqual(a.name.slice(-10), b.name.slice(-10));
 * assert.equal(a.comparisonKey, c.comparisonKey); // one comparison of the norms
 * ```
 */
export async function keyedName(
  name: string,
  settings: { config: Record<string, unknown>; training: unknown },
): Promise<{ name: string; settingsKey: string; comparisonKey: string }> {
  const key = await settingsKey(settings);
  const { norm: _norm, ...rest } = settings.config;
  const comparisonKey = await settingsKey({ config: rest, training: settings.training });
  const keyed = `${name}-${key}`;
  checkSegment("keyedName", keyed);
  return { name: keyed, settingsKey: key, comparisonKey };
}

/**
 * The folder `<dir>/<experiment>/<name>` that {@link saveResult} writes into, after checking
 * that the names are single path segments (throws a `TypeError` otherwise).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resultFolder } from "./results.ts";
 *
 * assert.equal(resultFolder({ dir: "results", experiment: "acrobot", name: "seminorm" }),
 *   "results/acrobot/seminorm");
 * assert.throws(() => resultFolder({ dir: "results", experiment: "../x", name: "a" }), TypeError);
 * ```
 */
export function resultFolder(location: ResultLocation): string {
  if (location === null || typeof location !== "object") {
    throw new TypeError("result location must be an object { dir, experiment, name }");
  }
  const { dir, experiment, name } = location;
  if (typeof dir !== "string" || dir === "") {
    throw new TypeError("result location: dir must be a non-empty path");
  }
  checkSegment("result location: experiment", experiment);
  checkSegment("result location: name", name);
  return join(dir, experiment, name);
}

const RUN_FILE = /^(0|[1-9][0-9]*)\.json$/;

async function runNumbers(folder: string): Promise<number[]> {
  const runs: number[] = [];
  for await (const entry of Deno.readDir(folder)) {
    const m = entry.isFile ? RUN_FILE.exec(entry.name) : null;
    if (m) runs.push(Number(m[1]));
  }
  return runs.sort((a, b) => a - b);
}

/**
 * Writes `text` to `tmpDir/name` (a fresh temporary folder named as the data cache names its
 * own, `<file>.tmp-<pid>-<random>`, so that `sweepStaleCacheWrites` removes it if this process
 * is killed meanwhile), synced to disk.
 */
async function writeSynced(tmpDir: string, name: string, text: string): Promise<string> {
  await Deno.mkdir(tmpDir);
  const path = join(tmpDir, name);
  const file = await Deno.open(path, { write: true, createNew: true });
  try {
    const bytes = new TextEncoder().encode(text);
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await file.syncData();
  } finally {
    file.close();
  }
  return path;
}

/** Temporary files of the older layout, `.<n>.json.<pid>.<random>.tmp`. */
const OLD_TEMP = /^\.\d+\.json\.\d+\.[0-9a-z]+\.tmp$/;

/**
 * Removes what interrupted saves left in `folder`: temporary folders of processes that are gone
 * (`sweepStaleCacheWrites`) and temporary files of the older layout more than an hour old (a save
 * takes milliseconds).
 */
async function sweepStaleSaves(folder: string): Promise<void> {
  await sweepStaleCacheWrites(folder, (m) => console.warn(m.replace("cache write", "result save")));
  for await (const e of Deno.readDir(folder)) {
    if (!e.isFile || !OLD_TEMP.test(e.name)) continue;
    const { mtime } = await Deno.stat(join(folder, e.name));
    if (mtime !== null && Date.now() - mtime.getTime() > 3600e3) {
      await Deno.remove(join(folder, e.name)).catch(() => {});
    }
  }
}

/**
 * Saves `result` as `<dir>/<experiment>/<name>/<n>.json` with the next free run number `n`
 * (one more than the largest there, from 0), and returns the path and `n`. The file holds
 * `result` with `experiment`, `name` and `run` filled in.
 *
 * The JSON is written into a hidden temporary folder in the same folder
 * (`.<n>.json.tmp-<pid>-<random>`), flushed, and then linked to its final name, which fails
 * rather than overwrites if another process took `n` meanwhile (then the next number is tried):
 * a run interrupted at any point leaves either a complete file or none, and what a killed save
 * left is swept by the next save (folders of processes that are gone). Non-finite numbers (a NaN
 * loss) become `null`, as `JSON.stringify` writes them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { saveResult } from "@fasterode/fasterode/experiments";
 *
 * const dir = await Deno.makeTempDir();
 * const first = await saveResult({ note: "any JSON value" }, { dir, experiment: "demo", name: "a" });
 * const second = await saveResult({ note: "again" }, { dir, experiment: "demo", name: "a" });
 * assert.deepEqual([first.run, second.run], [0, 1]);
 * assert.ok(second.path.endsWith("1.json"));
 * const saved = JSON.parse(await Deno.readTextFile(second.path));
 * assert.deepEqual(saved, { note: "again", experiment: "demo", name: "a", run: 1 });
 * // What a save killed midway left (its process is gone) is swept by the next save.
 * await Deno.mkdir(`${dir}/demo/a/.2.json.tmp-999999999-x1`);
 * await saveResult({}, { dir, experiment: "demo", name: "a" });
 * assert.deepEqual([...Deno.readDirSync(`${dir}/demo/a`)].map((e) => e.name).sort(),
 *   ["0.json", "1.json", "2.json"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function saveResult(
  result: object,
  location: ResultLocation,
): Promise<{ path: string; run: number }> {
  const { experiment, name } = location;
  const folder = resultFolder(location);
  await Deno.mkdir(folder, { recursive: true });
  await sweepStaleSaves(folder);
  let run = ((await runNumbers(folder)).at(-1) ?? -1) + 1;
  for (let attempt = 0; attempt < 1000; attempt++, run++) {
    const path = join(folder, `${run}.json`);
    const tmpDir = join(
      folder,
      `.${run}.json.tmp-${Deno.pid}-${Math.random().toString(36).slice(2)}`,
    );
    try {
      const tmp = await writeSynced(
        tmpDir,
        `${run}.json`,
        JSON.stringify({ ...result, experiment, name, run }),
      );
      try {
        await Deno.link(tmp, path); // atomic, and never overwrites
        return { path, run };
      } catch (err) {
        if (err instanceof Deno.errors.AlreadyExists) continue;
        // A file system without hard links: rename, after checking the name is still free.
        try {
          await Deno.lstat(path);
          continue;
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
        }
        await Deno.rename(tmp, path);
        return { path, run };
      }
    } finally {
      await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
    }
  }
  throw new Error(`saveResult: could not claim a free run number in ${folder}`);
}

/**
 * Reads every saved run of an experiment: for each configuration folder under
 * `<dir>/<experiment>`, its `<n>.json` files in run order (other files are ignored).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readResults, saveResult } from "@fasterode/fasterode/experiments";
 *
 * const dir = await Deno.makeTempDir();
 * await saveResult({ loss: 1 }, { dir, experiment: "demo", name: "seminorm" });
 * await saveResult({ loss: 2 }, { dir, experiment: "demo", name: "seminorm" });
 * await saveResult({ loss: 3 }, { dir, experiment: "demo", name: "default" });
 * const runs = await readResults(dir, "demo");
 * assert.deepEqual(Object.keys(runs).sort(), ["default", "seminorm"]);
 * assert.deepEqual(runs.seminorm.map((r) => r.run), [0, 1]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readResults(
  dir: string,
  experiment: string,
): Promise<Record<string, RunResult[]>> {
  checkSegment("readResults: experiment", experiment);
  const root = join(dir, experiment);
  const out: Record<string, RunResult[]> = {};
  const names: string[] = [];
  for await (const entry of Deno.readDir(root)) if (entry.isDirectory) names.push(entry.name);
  for (const name of names.sort()) {
    const runs: RunResult[] = [];
    for (const n of await runNumbers(join(root, name))) {
      const path = join(root, name, `${n}.json`);
      try {
        runs.push(JSON.parse(await Deno.readTextFile(path)) as RunResult);
      } catch (err) {
        throw new Error(`readResults: cannot parse ${path}: ${(err as Error).message}`);
      }
    }
    out[name] = runs;
  }
  return out;
}
