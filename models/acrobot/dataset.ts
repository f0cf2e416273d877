/**
 * The acrobot data set of the Symplectic ODE-Net experiment: trajectories of the fully-actuated
 * acrobot under 9 constant controls, cut into windows of 8 consecutive observations.
 *
 * For each control `u`, `trials` (128) trials start from states drawn uniformly from
 * `[−3.14, 3.14]⁴` and run for `steps` (32) control steps of 0.05 s; the observation
 * `[cos θ1, cos θ2, sin θ1, sin θ2, θ̇1, θ̇2, u0, u1]` is recorded after every step (the start state
 * itself is not recorded), so a trial is 32 points at relative times `0, 0.05, …, 1.55`. A trial
 * in which a recorded `|θ̇1|` reaches `4π − 0.001` or `|θ̇2|` reaches `9π − 0.001` is redrawn.
 * Trials are split by index, per control, into train / validation / test
 * (`⌊0.7·n⌋`, `⌊0.15·n⌋`, the rest: 89 / 19 / 20), and every window of 8 consecutive points of a
 * trial is a sample with times `0, 0.05, …, 0.35`: 9·25·89 = 20,025 / 4,275 / 4,500 samples.
 *
 * As in the original experiment every control replays the same stream of start states (one seed
 * for all), a trial being the next start state of the stream that passes the speed filter. The
 * stream here is this library's seeded generator (`random.ts`), so the numbers differ from the
 * original NumPy ones while the distribution is the same; the physics is solved far more
 * accurately (dopri5 at rtol = atol = 1e-6 instead of SciPy's RK45 at rtol 1e-3).
 *
 * Generation simulates every pending trial of every control in one batched solve per round
 * (a round redraws the rejected ones), and the result is cached on disk as an entry of the data
 * cache (`models/data/cache.ts`): a folder `<cacheDir>/acrobot-<hash of the settings>` holding
 * a float32 file `trajectories.f32` (the observations, then the start states) and the
 * manifest with the metadata and the file's SHA-256. Reading it back checks the manifest, the
 * file's size and SHA-256, the metadata against the settings asked for, and the values (finite,
 * cos and sin in [−1, 1], speeds under the limits, the controls); an entry that fails (a
 * truncated, empty or `null` manifest, flipped bits, an interrupted write) is reported in one
 * line naming its path and simulated again. The cache folder is `cacheDir`, by default
 * `<root>/.cache/acrobot` (the root of `models/data/root.ts`: `$FASTERODE_ROOT`, else the project
 * folder); a `cacheDir` given is relative to the current directory, and `false` caches nothing.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ACROBOT, simulateAcrobot } from "./physics.ts";
import {
  cacheKey,
  readCacheEntry,
  rootPath,
  seededRandom,
  uniform,
  writeCacheEntry,
} from "../data/mod.ts";

/** The 9 constant controls `(a0, a1)` of the experiment, in its order. */
export const ACROBOT_CONTROLS: readonly (readonly [number, number])[] = Object.freeze(
  [[0, 0], [0, 1], [0, -1], [0, 2], [0, -2], [1, 0], [-1, 0], [2, 0], [-2, 0]] as const,
);

/** Names of the 8 observation channels, in order. */
export const OBSERVATION_CHANNELS: readonly string[] = Object.freeze(
  ["cos θ1", "cos θ2", "sin θ1", "sin θ2", "θ̇1", "θ̇2", "u0", "u1"],
);

/** Progress of data generation, passed to the `onProgress` callback. */
export interface AcrobotProgress {
  /** Redraw round (1 for the first batch of trials). */
  round: number;
  /** Trials simulated together in this round. */
  batch: number;
  /** Simulated time reached in this round (s). */
  t: number;
  /** Simulated time at the end of the round (s). */
  tEnd: number;
  /** Accepted trials so far, over all controls. */
  accepted: number;
  /** Trials needed over all controls. */
  total: number;
}

/** Options of the acrobot data set. Every option is optional. */
export interface AcrobotDataOptions {
  /** Trials per control (default 128). Small values make tiny sets for tests. */
  trials?: number;
  /** Recorded points per trial, one after each control step (default 32). */
  steps?: number;
  /** Points per window sample (default 8). */
  window?: number;
  /** Seed of the start-state stream (default 456789). */
  seed?: number;
  /** Constant controls (default {@link ACROBOT_CONTROLS}). */
  controls?: readonly (readonly [number, number])[];
  /** Relative tolerance of the physics solve (default 1e-6). */
  rtol?: number;
  /** Absolute tolerance of the physics solve (default 1e-6). */
  atol?: number;
  /**
   * Cache folder: the trajectories are read from (or written to) `<cacheDir>/acrobot-<key>`.
   * Default `<root>/.cache/acrobot` (`rootPath(".cache", "acrobot")`, models/data/root.ts); a
   * folder given is relative to the current directory; `false` neither reads nor writes a cache.
   */
  cacheDir?: string | false;
  /** Receives the progress of a generation, at every vector-field evaluation of the physics
   * solve and at the end of every round (default: none). Nothing is printed. */
  onProgress?: (p: AcrobotProgress) => void;
  /** Receives the one-line report of an unusable cache entry (corrupt, truncated, or made for
   * other settings), which is then simulated again. Default `console.warn`. */
  warn?: (message: string) => void;
}

/** The settings that determine the trajectories (the cache key is a hash of them). */
export interface AcrobotDataSettings {
  /** Format version of the generator; bumping it invalidates caches. */
  version: number;
  /** Trials per control. */
  trials: number;
  /** Recorded points per trial. */
  steps: number;
  /** Seed of the start-state stream. */
  seed: number;
  /** Constant controls. */
  controls: [number, number][];
  /** Solver tolerances and method. */
  rtol: number;
  /** Absolute tolerance. */
  atol: number;
  /** Runge–Kutta method. */
  method: "dopri5";
  /** Control step (s). */
  dt: number;
  /** Range of the uniform start states. */
  initRange: [number, number];
  /** Speed filter: a recorded `|θ̇1|` or `|θ̇2|` reaching these rejects the trial. */
  maxVel: [number, number];
}

/** Trajectories of every control and trial. */
export interface AcrobotTrajectories {
  /** Observations, `[controls, trials, steps, 8]` row-major. */
  data: Float32Array;
  /** `[controls, trials, steps, 8]`. */
  shape: [number, number, number, number];
  /** Start state `(θ1, θ2, θ̇1, θ̇2)` of every trial, `[controls, trials, 4]` (not recorded). */
  starts: Float32Array;
  /** The settings that produced them. */
  settings: AcrobotDataSettings;
  /** The hash of the settings (cache key). */
  key: string;
  /** Rejected start states per control. */
  rejected: number[];
  /** Vector-field evaluations spent generating them (0 when loaded from the cache). */
  nfe: number;
  /** Whether they were read from the cache. */
  cached: boolean;
}

const VERSION = 1;
const CHANNELS = 8;

function resolveSettings(options: AcrobotDataOptions): AcrobotDataSettings {
  const {
    trials = 128,
    steps = 32,
    seed = 456789,
    controls = ACROBOT_CONTROLS,
    rtol = 1e-6,
    atol = 1e-6,
  } = options;
  if (!Number.isInteger(trials) || trials < 1) {
    throw new RangeError(`trials must be a positive integer, got ${trials}`);
  }
  if (!Number.isInteger(steps) || steps < 2) {
    throw new RangeError(`steps must be an integer ≥ 2, got ${steps}`);
  }
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  if (
    !Array.isArray(controls) || controls.length === 0 ||
    controls.some((u) => !Array.isArray(u) || u.length !== 2 || !u.every(Number.isFinite))
  ) {
    throw new TypeError("controls must be a non-empty list of [a0, a1] pairs of finite numbers");
  }
  for (const [name, v] of [["rtol", rtol], ["atol", atol]] as const) {
    if (!(v > 0)) throw new RangeError(`${name} must be > 0, got ${v}`);
  }
  return {
    version: VERSION,
    trials,
    steps,
    seed,
    controls: controls.map((u) => [u[0], u[1]]),
    rtol,
    atol,
    method: "dopri5",
    dt: ACROBOT.dt,
    initRange: [-3.14, 3.14],
    maxVel: [ACROBOT.maxVel1 - 0.001, ACROBOT.maxVel2 - 0.001],
  };
}

/** SHA-256 (hex, first 16 characters) of the settings and the physics constants. */
async function settingsKey(settings: AcrobotDataSettings): Promise<string> {
  return (await cacheKey({ settings, physics: ACROBOT })).slice(0, 16);
}

/**
 * Simulates the trajectories (no cache). Every round solves all pending trials of all controls
 * together; rejected trials are redrawn from their control's stream in the next round.
 */
async function simulateTrajectories(
  settings: AcrobotDataSettings,
  key: string,
  report: ((p: AcrobotProgress) => void) | undefined,
): Promise<AcrobotTrajectories> {
  const { trials, steps, controls, seed, rtol, atol, dt } = settings;
  const [lo, hi] = settings.initRange;
  const [max1, max2] = settings.maxVel;
  const nC = controls.length;
  // One stream of start states, replayed for every control (one seed for all, as the original).
  const rng = seededRandom(seed);
  const starts: number[][] = [];
  const startAt = (k: number): number[] => {
    while (starts.length <= k) starts.push([0, 1, 2, 3].map(() => uniform(rng, lo, hi)));
    return starts[k];
  };
  const data = new Float32Array(nC * trials * steps * CHANNELS);
  const startStates = new Float32Array(nC * trials * 4);
  const accepted = new Array<number>(nC).fill(0);
  const nextCandidate = new Array<number>(nC).fill(0);
  const rejected = new Array<number>(nC).fill(0);
  let nfe = 0;
  for (let round = 1; accepted.some((a) => a < trials); round++) {
    // Pending candidates, in stream order per control. Drawing a few extra is harmless: a
    // control's trials are its first `trials` valid candidates, whatever the batch size.
    const batch: { c: number; k: number }[] = [];
    for (let c = 0; c < nC; c++) {
      const need = trials - accepted[c];
      if (need === 0) continue;
      const tried = nextCandidate[c];
      const rate = tried > 0 ? rejected[c] / tried : 0;
      const draw = Math.min(need + Math.ceil(need * rate * 1.5) + (rate > 0 ? 1 : 0), 4 * need);
      for (let i = 0; i < draw; i++) batch.push({ c, k: nextCandidate[c]++ });
    }
    const total = nC * trials;
    const acceptedSoFar = () => accepted.reduce((a, b) => a + b, 0);
    const tEnd = steps * dt;
    const s0 = tf.tensor2d(batch.map(({ k }) => startAt(k)));
    const u = tf.tensor2d(batch.map(({ c }) => controls[c]));
    let states: Float32Array;
    try {
      const sim = await simulateAcrobot(s0, u, steps, {
        dt,
        rtol,
        atol,
        onEval: report &&
          ((t) =>
            report({
              round,
              batch: batch.length,
              t: Math.min(t, tEnd), // the last step may overshoot and interpolate back
              tEnd,
              accepted: acceptedSoFar(),
              total,
            })),
      });
      nfe += sim.stats.nfe;
      states = await sim.states.data() as Float32Array;
      sim.states.dispose();
    } finally {
      tf.dispose([s0, u]);
    }
    const B = batch.length;
    batch.forEach(({ c, k }, b) => {
      if (accepted[c] >= trials) return; // extra candidates beyond the last needed trial
      let valid = true;
      for (let s = 1; s <= steps && valid; s++) {
        const o = (s * B + b) * 4;
        valid = Math.abs(states[o + 2]) < max1 && Math.abs(states[o + 3]) < max2;
      }
      if (!valid) {
        rejected[c]++;
        return;
      }
      const trial = accepted[c]++;
      startStates.set(startAt(k), (c * trials + trial) * 4);
      const [u0, u1] = controls[c];
      for (let s = 1; s <= steps; s++) {
        const o = (s * B + b) * 4;
        const th1 = states[o], th2 = states[o + 1];
        const out = ((c * trials + trial) * steps + (s - 1)) * CHANNELS;
        data.set(
          [
            Math.cos(th1),
            Math.cos(th2),
            Math.sin(th1),
            Math.sin(th2),
            states[o + 2],
            states[o + 3],
          ],
          out,
        );
        data[out + 6] = u0;
        data[out + 7] = u1;
      }
    });
    report?.({ round, batch: B, t: tEnd, tEnd, accepted: acceptedSoFar(), total });
  }
  return {
    data,
    shape: [nC, trials, steps, CHANNELS],
    starts: startStates,
    settings,
    key,
    rejected,
    nfe,
    cached: false,
  };
}

/** The metadata of a cache entry (in its manifest). */
interface CacheMeta {
  settings: AcrobotDataSettings;
  shape: [number, number, number, number];
  rejected: number[];
  nfe: number;
  channels: readonly string[];
}

/** The file of a cache entry: the observations, then the start states, float32. */
const TRAJECTORY_FILE = "trajectories.f32";

/** The trajectories of a verified cache entry; throws (the reason) if they do not fit the
 * settings or hold NaN or Inf. */
function decodeCache(
  meta: CacheMeta,
  files: ReadonlyMap<string, Uint8Array>,
  settings: AcrobotDataSettings,
  key: string,
): AcrobotTrajectories {
  const expected = [settings.controls.length, settings.trials, settings.steps, CHANNELS];
  if (meta === null || typeof meta !== "object") throw new Error(`its metadata is ${meta}`);
  if (JSON.stringify(meta.settings) !== JSON.stringify(settings)) {
    throw new Error(`it was made for other settings`);
  }
  if (JSON.stringify(meta.shape) !== JSON.stringify(expected)) {
    throw new Error(
      `its shape is ${JSON.stringify(meta.shape)}, expected ${JSON.stringify(expected)}`,
    );
  }
  if (
    !Array.isArray(meta.rejected) || meta.rejected.length !== expected[0] ||
    !meta.rejected.every((r) => Number.isInteger(r) && r >= 0)
  ) {
    throw new Error(`its rejected counts are not one count per control`);
  }
  const bytes = files.get(TRAJECTORY_FILE);
  const nData = expected[0] * expected[1] * expected[2] * CHANNELS;
  const nStarts = expected[0] * expected[1] * 4;
  if (bytes === undefined || bytes.byteLength !== 4 * (nData + nStarts)) {
    throw new Error(`${TRAJECTORY_FILE} does not hold ${nData + nStarts} float32 values`);
  }
  const all = new Float32Array(bytes.slice().buffer);
  const bad = all.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`${TRAJECTORY_FILE} holds ${all[bad]} at ${bad}`);
  // Value ranges: cos and sin in [−1, 1] (float32 rounding aside), speeds under the filter's
  // limits, and the control channels equal to each trial's control.
  const [max1, max2] = settings.maxVel;
  for (let p = 0; p < nData; p += CHANNELS) {
    const u = settings.controls[Math.floor(p / (CHANNELS * expected[1] * expected[2]))];
    const ok = [0, 1, 2, 3].every((k) => Math.abs(all[p + k]) <= 1 + 1e-6) &&
      Math.abs(all[p + 4]) < max1 && Math.abs(all[p + 5]) < max2 &&
      all[p + 6] === Math.fround(u[0]) && all[p + 7] === Math.fround(u[1]);
    if (!ok) {
      throw new Error(
        `${TRAJECTORY_FILE} holds an impossible observation at point ${p / CHANNELS}: ` +
          `[${Array.from(all.subarray(p, p + CHANNELS)).join(", ")}]`,
      );
    }
  }
  return {
    data: all.slice(0, nData),
    shape: [expected[0], expected[1], expected[2], CHANNELS],
    starts: all.slice(nData),
    settings,
    key,
    rejected: meta.rejected,
    nfe: 0,
    cached: true,
  };
}

/** Writes the trajectories as the cache entry `path`. */
async function writeCache(path: string, traj: AcrobotTrajectories): Promise<void> {
  const all = new Float32Array(traj.data.length + traj.starts.length);
  all.set(traj.data);
  all.set(traj.starts, traj.data.length);
  const meta: CacheMeta = {
    settings: traj.settings,
    shape: traj.shape,
    rejected: traj.rejected,
    nfe: traj.nfe,
    channels: OBSERVATION_CHANNELS,
  };
  await writeCacheEntry(path, traj.key, {
    meta,
    files: { [TRAJECTORY_FILE]: new Uint8Array(all.buffer) },
  });
}

/**
 * The trajectories for `options`: read from the cache entry `<cacheDir>/acrobot-<key>` when it
 * is there and passes its checks, else simulated (and cached). Deterministic: the same settings
 * give the same numbers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { acrobotTrajectories } from "@fasterode/fasterode/models/acrobot";
 * const traj = await acrobotTrajectories({ trials: 2, steps: 4, controls: [[0, 1]], cacheDir: false });
 * assert.deepEqual(traj.shape, [1, 2, 4, 8]);
 * assert.equal(traj.data[7], 1); // u1 channel
 * ```
 */
export async function acrobotTrajectories(
  options: AcrobotDataOptions = {},
): Promise<AcrobotTrajectories> {
  const settings = resolveSettings(options);
  const key = await settingsKey(settings);
  const { cacheDir = rootPath(".cache", "acrobot") } = options;
  const path = cacheDir === false ? undefined : `${cacheDir}/acrobot-${key}`;
  if (path !== undefined) {
    const hit = await readCacheEntry(path, key, {
      decode: (meta: CacheMeta, files) => decodeCache(meta, files, settings, key),
      warn: options.warn,
    });
    if (hit !== undefined) return hit.value;
  }
  const traj = await simulateTrajectories(settings, key, options.onProgress);
  if (path !== undefined) await writeCache(path, traj);
  return traj;
}

/**
 * Trials per split for `n` trials per control: `[⌊0.7·n⌋, ⌊0.15·n⌋, rest]` (89/19/20 for 128).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitSizes } from "@fasterode/fasterode/models/acrobot";
 * assert.deepEqual(splitSizes(128), [89, 19, 20]);
 * ```
 */
export function splitSizes(n: number): [number, number, number] {
  const train = Math.floor(n * 0.7);
  const val = Math.floor(n * 0.15);
  return [train, val, n - train - val];
}

/**
 * Every window of `window` consecutive points of trials `[from, to)` of every control, as a
 * tensor `[N, window, 8]`, ordered by control, then window start, then trial (as the original).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { acrobotTrajectories, windowsOf } from "@fasterode/fasterode/models/acrobot";
 * const traj = await acrobotTrajectories({ trials: 3, steps: 5, controls: [[0, 0]], cacheDir: false });
 * const w = windowsOf(traj, 0, 2, 4);          // 2 trials × (5 − 4 + 1) windows
 * assert.deepEqual(w.shape, [4, 4, 8]);
 * w.dispose();
 * ```
 */
export function windowsOf(
  traj: AcrobotTrajectories,
  from: number,
  to: number,
  window: number,
): tf.Tensor3D {
  const [nC, nT, steps, ch] = traj.shape;
  if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from <= to && to <= nT)) {
    throw new RangeError(`trial range [${from}, ${to}) is not inside [0, ${nT})`);
  }
  if (!Number.isInteger(window) || window < 2 || window > steps) {
    throw new RangeError(`window must be an integer in [2, ${steps}], got ${window}`);
  }
  const perTrial = steps - window + 1;
  const n = to - from;
  const out = new Float32Array(nC * perTrial * n * window * ch);
  let o = 0;
  for (let c = 0; c < nC; c++) {
    for (let w = 0; w < perTrial; w++) {
      for (let trial = from; trial < to; trial++) {
        const start = ((c * nT + trial) * steps + w) * ch;
        out.set(traj.data.subarray(start, start + window * ch), o);
        o += window * ch;
      }
    }
  }
  return tf.tensor3d(out, [nC * perTrial * n, window, ch]);
}

/** The windowed acrobot data set. */
export interface AcrobotDataset {
  /** Times of a window's points, `0, 0.05, …` (8 of them by default). */
  times: number[];
  /** Training windows `[N, window, 8]` (20,025 at full size). */
  train: tf.Tensor3D;
  /** Validation windows (4,275 at full size). */
  val: tf.Tensor3D;
  /** Test windows (4,500 at full size). */
  test: tf.Tensor3D;
  /** The trajectories they were cut from. */
  trajectories: AcrobotTrajectories;
  /** Frees the three tensors. */
  dispose(): void;
}

/**
 * The acrobot data set, windowed and split (see the module documentation). Cached on disk under
 * `cacheDir` (default `<root>/.cache/acrobot`, models/data/root.ts); pass `onProgress` to watch a
 * first generation (about a minute on a CPU).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadAcrobotDataset } from "@fasterode/fasterode/models/acrobot";
 * const ds = await loadAcrobotDataset({ trials: 10, steps: 9, controls: [[0, 0]], cacheDir: false });
 * // 10 trials → 7 / 1 / 2; 9 − 8 + 1 = 2 windows per trial.
 * assert.deepEqual([ds.train.shape[0], ds.val.shape[0], ds.test.shape[0]], [14, 2, 4]);
 * assert.deepEqual(ds.train.shape.slice(1), [8, 8]);
 * assert.equal(ds.times.length, 8);
 * ds.dispose();
 * ```
 */
export async function loadAcrobotDataset(
  options: AcrobotDataOptions = {},
): Promise<AcrobotDataset> {
  const { window = 8 } = options;
  const steps = options.steps ?? 32;
  if (!Number.isInteger(window) || window < 2 || window > steps) {
    throw new RangeError(`window must be an integer in [2, steps = ${steps}], got ${window}`);
  }
  const trajectories = await acrobotTrajectories(options);
  const [nTrain, nVal] = splitSizes(trajectories.settings.trials);
  const n = trajectories.settings.trials;
  const train = windowsOf(trajectories, 0, nTrain, window);
  const val = windowsOf(trajectories, nTrain, nTrain + nVal, window);
  const test = windowsOf(trajectories, nTrain + nVal, n, window);
  return {
    times: Array.from({ length: window }, (_, i) => i * trajectories.settings.dt),
    train,
    val,
    test,
    trajectories,
    dispose: () => tf.dispose([train, val, test]),
  };
}
