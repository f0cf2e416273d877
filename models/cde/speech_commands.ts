/**
 * Speech Commands v0.02 for the Neural CDE experiment: read the WAV folders, keep the ten
 * command words, compute MFCCs, split 70/15/15 stratified by class, normalise with the
 * training statistics, prepend time, and cache the result on disk.
 *
 * The layout is the data set's own: one folder per word (`yes/`, `no/`, …) of 16-bit PCM mono
 * 16 kHz WAV files; other folders (the other words, `_background_noise_`) are ignored. Clips
 * that are not exactly 16000 samples long are dropped (34,975 clips remain of the real data
 * set, split 24,482 / 5,246 / 5,247). The same layout is written by
 * `synthetic_speech.ts`, which speaks the words with espeak-ng for machines without the data.
 * The WAV codec is `wav.ts`, the download `download.ts`, the split `split.ts`, the cache entry's
 * files and checks `speech_cache.ts`; the command line
 * that prepares the data is `experiments/cde/data_main.ts` (`deno task speech-data`).
 *
 * @example Loading (here a directory made by the synthetic generator)
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { loadSpeechCommands } from "@fasterode/fasterode/models/cde";
 *
 * const data = await loadSpeechCommands({ dir: "data/speech_commands", seed: 0 });
 * assert.deepEqual(data.train.X.shape, [24482, 161, 21]); // the real data set
 * assert.deepEqual(data.classes.slice(0, 2), ["yes", "no"]);
 * tf.dispose([data.train, data.val, data.test]);
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { frameCount, mfcc, type MfccConfig, mfccConfig, type MfccOptions } from "./mfcc.ts";
import { decodeWav } from "./wav.ts";
import { downloadSpeechCommands, SpeechDataUnavailableError } from "./download.ts";
import { stratifiedSplit } from "./split.ts";
import {
  cacheFiles,
  type CacheMeta,
  decodeCache,
  type HostSplits,
  type Settings,
  type SplitName,
  SPLITS,
} from "./speech_cache.ts";
import { cacheKey, readCacheEntry, sha256File, writeCacheEntry } from "../data/mod.ts";

/** The ten command words, in label order: `yes` is 0, …, `go` is 9. */
export const SPEECH_COMMANDS_CLASSES: readonly string[] = Object.freeze([
  "yes",
  "no",
  "up",
  "down",
  "left",
  "right",
  "on",
  "off",
  "stop",
  "go",
]);

/** Sample rate of the clips in Hz. */
export const SAMPLE_RATE = 16000;

/** Length of a kept clip in samples (one second); other lengths are dropped. */
export const CLIP_SAMPLES = 16000;

/** Bumped whenever the cached format or the preprocessing changes (2: keyed by the WAV files'
 * SHA-256, dropped clips named). */
const CACHE_FORMAT = 2;

/** Added to the training standard deviation before dividing, as in the reference code. */
const NORM_EPS = 1e-5;

// ---------------------------------------------------------------------------------------------
// Loading

/** Options of {@linkcode loadSpeechCommands}. */
export interface SpeechCommandsOptions {
  /** Directory with one folder per word (`yes/`, `no/`, …) of 16 kHz 16-bit mono WAV files. */
  dir: string;
  /**
   * Where preprocessed splits are cached (one subfolder per settings key). Default
   * `<dir>/.fasterode_cache`; `null` turns caching off.
   */
  cacheDir?: string | null;
  /** Seed of the split. Default 0. */
  seed?: number;
  /** Fraction of clips for training. Default 0.7. */
  trainFraction?: number;
  /** Fraction of clips for validation (the test split gets the rest). Default 0.15. */
  valFraction?: number;
  /** MFCC settings (default: the experiment's, see `mfcc.ts`); `sampleRate` must be 16000. */
  mfcc?: MfccOptions;
  /** If the word folders are missing, download the data set first. Default false. */
  download?: boolean;
  /** Progress messages. Default: none. */
  log?: (message: string) => void;
  /** Receives the one-line report of an unusable cache entry (corrupt, truncated, or made
   * for other settings), which is then rebuilt. Default `console.warn`. */
  warn?: (message: string) => void;
}

/** One split: features and labels (a type alias, so that `tf.dispose(split)` accepts it). */
export type LabelledSplit = {
  /** `[clips, frames, 1 + nMfcc]` float32: channel 0 is time (frame index), then the
   * normalised MFCCs. */
  X: tf.Tensor3D;
  /** `[clips]` int32 labels, indices into `classes`. */
  y: tf.Tensor1D;
};

/** What {@linkcode loadSpeechCommands} returns. Dispose the tensors with
 * `tf.dispose([data.train, data.val, data.test])`. */
export interface SpeechCommandsData {
  /** The training split (70% by default); its statistics normalise all three. */
  train: LabelledSplit;
  /** The validation split (15%). */
  val: LabelledSplit;
  /** The test split (the rest, 15%). */
  test: LabelledSplit;
  /** Observation times, the frame indices `0, 1, …, frames − 1` (also channel 0 of `X`). */
  times: number[];
  /** Class names in label order. */
  classes: string[];
  /** Per-MFCC-channel training mean used for normalisation (`nMfcc` values). */
  mean: number[];
  /** Per-MFCC-channel training standard deviation (unbiased), before adding 1e-5. */
  std: number[];
  /** Clips dropped because their length was not 16000 samples. */
  dropped: number;
  /** Those clips, as paths relative to `dir` (`yes/short.wav`), sorted. */
  droppedFiles: string[];
  /** Hash of every source file's path and SHA-256 and of every setting; names the cache
   * entry. */
  key: string;
  /** Whether the splits came from the disk cache. */
  fromCache: boolean;
  /** The cache entry's folder, or null without caching. */
  cachePath: string | null;
}

interface SourceFile {
  path: string;
  rel: string;
  size: number;
  sha256: string;
  label: number;
}

/** The word folder `folder`'s `.wav` names, sorted; a clear error when it is missing or not a
 * folder. */
async function wavNames(dir: string, folder: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(folder)) {
      if (e.isFile && e.name.toLowerCase().endsWith(".wav")) names.push(e.name);
    }
  } catch (e) {
    const top = await Deno.stat(dir).then((s) => s.isDirectory ? "" : "a file", () => "missing");
    const words = SPEECH_COMMANDS_CLASSES.join(", ");
    if (top === "a file") {
      throw new Error(
        `${dir} is a file, not a folder: give the folder that holds the word folders (${words})`,
      );
    }
    if (top === "missing") {
      throw new SpeechDataUnavailableError(dir, `${dir} not found (no Speech Commands)`, "folders");
    }
    if (e instanceof Deno.errors.NotFound) {
      throw new SpeechDataUnavailableError(
        dir,
        `${folder} not found: ${dir} does not hold Speech Commands (it needs one folder per ` +
          `word: ${SPEECH_COMMANDS_CLASSES.join(", ")})`,
        "folders",
      );
    }
    if (e instanceof Deno.errors.NotADirectory || (await isFile(folder))) {
      throw new Error(
        `${folder} is a file, not a folder: ${dir} must hold one folder of .wav clips per word ` +
          `(${SPEECH_COMMANDS_CLASSES.join(", ")}); move or rename that file`,
      );
    }
    throw e;
  }
  if (names.length === 0) throw new Error(`${folder} holds no .wav files`);
  return names.sort();
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** Every clip of the ten word folders with its size and SHA-256 (each file read once). */
async function listSource(dir: string, log: (message: string) => void): Promise<SourceFile[]> {
  const listed: Omit<SourceFile, "size" | "sha256">[] = [];
  for (const [label, word] of SPEECH_COMMANDS_CLASSES.entries()) {
    const folder = join(dir, word);
    for (const name of await wavNames(dir, folder)) {
      listed.push({ path: join(folder, name), rel: `${word}/${name}`, label });
    }
  }
  const started = performance.now();
  const digests = await mapLimit(listed, 16, (f) => sha256File(f.path));
  const secs = (performance.now() - started) / 1000;
  if (secs > 1) log(`hashed ${listed.length} clips in ${secs.toFixed(1)} s`);
  return listed.map((f, i) => ({ ...f, size: digests[i].bytes, sha256: digests[i].sha256 }));
}

/** `fn` over `items` with at most `limit` calls in flight; results in input order. */
async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Reads, decodes and featurises the clips; returns the kept clips' MFCCs and labels and the
 * dropped clips' relative paths. */
async function featurise(
  files: SourceFile[],
  cfg: MfccConfig,
  frames: number,
  log: (message: string) => void,
): Promise<{ features: Float32Array; labels: Int32Array; droppedFiles: string[] }> {
  const perClip = frames * cfg.nMfcc;
  const features = new Float32Array(files.length * perClip);
  const labels = new Int32Array(files.length);
  let kept = 0;
  const droppedFiles: string[] = [];
  const chunk = 512;
  const started = performance.now();
  for (let start = 0; start < files.length; start += chunk) {
    const batch = files.slice(start, start + chunk);
    const clips = await mapLimit(batch, 16, async (f) => {
      const clip = decodeWav(await Deno.readFile(f.path), f.path);
      if (clip.sampleRate !== SAMPLE_RATE) {
        throw new Error(`${f.path}: sample rate ${clip.sampleRate} Hz, expected ${SAMPLE_RATE}`);
      }
      if (clip.declaredSamples > clip.samples.length) {
        throw new Error(
          `${f.path} is truncated: its header declares ${clip.declaredSamples} samples, the ` +
            `file holds ${clip.samples.length}; fetch it again or delete it`,
        );
      }
      return clip.samples;
    });
    const keep = batch.map((_, i) => clips[i].length === CLIP_SAMPLES);
    batch.forEach((f, i) => keep[i] || droppedFiles.push(f.rel));
    const n = keep.filter(Boolean).length;
    if (n > 0) {
      const signals = new Float32Array(n * CLIP_SAMPLES);
      let j = 0;
      batch.forEach((f, i) => {
        if (!keep[i]) return;
        const s = clips[i];
        for (let t = 0; t < CLIP_SAMPLES; t++) signals[j * CLIP_SAMPLES + t] = s[t] / 32768;
        labels[kept + j] = f.label;
        j++;
      });
      const x = tf.tensor2d(signals, [n, CLIP_SAMPLES]);
      let m: tf.Tensor3D | undefined;
      try {
        m = await mfcc(x, cfg);
        features.set(await m.data() as Float32Array, kept * perClip);
      } finally {
        tf.dispose([x, ...(m ? [m] : [])]);
      }
      kept += n;
    }
    const done = Math.min(start + chunk, files.length);
    const secs = (performance.now() - started) / 1000;
    log(`  features ${done}/${files.length} clips (${(done / secs).toFixed(0)} clips/s)`);
  }
  return {
    features: features.subarray(0, kept * perClip),
    labels: labels.subarray(0, kept),
    droppedFiles: droppedFiles.sort(),
  };
}

/** `names` for a message: all of them up to `max`, else the first `max` and how many more. */
function listNames(names: string[], max = 5): string {
  return names.length <= max
    ? names.join(", ")
    : `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
}

/** Per-channel mean and unbiased std over the given clips (NaNs ignored), in float64. */
function channelStats(
  features: Float32Array,
  clips: number[],
  frames: number,
  channels: number,
): { mean: number[]; std: number[] } {
  const sum = new Float64Array(channels), count = new Float64Array(channels);
  for (const c of clips) {
    for (let t = 0; t < frames; t++) {
      const base = (c * frames + t) * channels;
      for (let k = 0; k < channels; k++) {
        const v = features[base + k];
        if (!Number.isNaN(v)) {
          sum[k] += v;
          count[k]++;
        }
      }
    }
  }
  const mean = Array.from(sum, (s, k) => s / count[k]);
  const sq = new Float64Array(channels);
  for (const c of clips) {
    for (let t = 0; t < frames; t++) {
      const base = (c * frames + t) * channels;
      for (let k = 0; k < channels; k++) {
        const v = features[base + k];
        if (!Number.isNaN(v)) sq[k] += (v - mean[k]) ** 2;
      }
    }
  }
  const std = Array.from(sq, (s, k) => Math.sqrt(s / (count[k] - 1)));
  return { mean, std };
}

/**
 * Loads Speech Commands (or a set in the same layout) as the Neural CDE experiment uses it:
 * MFCC features (`[N, 161, 20]`), normalised per channel with the training split's mean and
 * unbiased std (`(X − mean)/(std + 1e-5)`), with time (`0 … 160`) prepended as channel 0,
 * giving `[N, 161, 21]` float32, and int32 labels `0 … 9` in {@linkcode SPEECH_COMMANDS_CLASSES}
 * order. The split is {@linkcode stratifiedSplit} (70/15/15 by default) with `seed`.
 *
 * Clips that are not exactly 16000 samples long are dropped, as the experiment does (the real
 * data set has about 3,500 shorter ones); they are listed in `droppedFiles` and named in the
 * log. A damaged file is an error naming it, never dropped silently: one that is not a WAV
 * file, not 16 kHz 16-bit mono, or truncated (its header declares more samples than it holds).
 *
 * The result is cached under `cacheDir` in a folder named by a SHA-256 key over the source
 * (every kept-class file's relative path and the SHA-256 of its bytes, each file read once per
 * call: about 0.15 ms a clip, some 5 s for the 35k clips of the real set), the seed, the split fractions and the
 * MFCC settings; a later call with the same key reads the cache (plain little-endian
 * float32/int32 files, an entry of `models/data/cache.ts`) instead of recomputing, and any
 * change (a clip added, removed or altered, even at the same size) gives a new key. The entry
 * is checked on reading (every file's size and SHA-256, the metadata against the settings,
 * labels in `0…9`, finite features); an unusable one is reported through `warn` in one line
 * naming the entry and the file at fault, and rebuilt.
 * Features are computed on the active tfjs backend (`wasm` is about 15× faster than `cpu`).
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { loadSpeechCommands } from "@fasterode/fasterode/models/cde";
 *
 * const data = await loadSpeechCommands({ dir: "data/speech_commands", download: true });
 * assert.equal(data.dropped, data.droppedFiles.length); // clips not 16000 samples long
 * const again = await loadSpeechCommands({ dir: "data/speech_commands" });
 * assert.equal(again.fromCache, true); // the checked cache entry
 * ```
 *
 * @param options Source directory, cache, seed and settings.
 * @returns The three splits as tensors (the caller disposes them) and their metadata.
 * @throws {SpeechDataUnavailableError} If `dir` lacks a word folder and `download` is off, or
 *   the download cannot reach the server (the message says what to do instead).
 * @throws {Error} If a word's entry in `dir` is a file, a file is not 16 kHz 16-bit mono PCM or
 *   is truncated, or no clip of some class is 16000 samples long.
 */
export async function loadSpeechCommands(
  options: SpeechCommandsOptions,
): Promise<SpeechCommandsData> {
  const {
    dir,
    seed = 0,
    trainFraction = 0.7,
    valFraction = 0.15,
    download = false,
    log = () => {},
  } = options;
  const cacheDir = options.cacheDir === undefined
    ? join(dir, ".fasterode_cache")
    : options.cacheDir;
  const cfg = mfccConfig(options.mfcc ?? {});
  if (cfg.sampleRate !== SAMPLE_RATE) {
    throw new RangeError(`loadSpeechCommands: the clips are 16 kHz; mfcc.sampleRate must be 16000`);
  }
  if (!Number.isInteger(seed)) throw new RangeError(`loadSpeechCommands: seed must be an integer`);
  stratifiedSplit([], { trainFraction, valFraction }); // validates the fractions
  if (download) {
    const missing = await Promise.all(
      SPEECH_COMMANDS_CLASSES.map((w) => Deno.stat(join(dir, w)).then(() => false, () => true)),
    );
    if (missing.some(Boolean)) await downloadSpeechCommands({ dir, log });
  }

  const files = await listSource(dir, log);
  const { chunkSize: _, ...mfccSettings } = cfg;
  const settings: Settings = { seed, trainFraction, valFraction, mfcc: mfccSettings };
  const key = await cacheKey({
    format: CACHE_FORMAT,
    classes: SPEECH_COMMANDS_CLASSES,
    normEps: NORM_EPS,
    settings,
    files: files.map((f) => [f.rel, f.sha256]),
  });
  const cachePath = cacheDir === null
    ? null
    : join(cacheDir, `speech_commands-${key.slice(0, 20)}`);
  const frames = frameCount(CLIP_SAMPLES, cfg);
  const channels = 1 + cfg.nMfcc;

  let meta: CacheMeta;
  let host: HostSplits;
  const cached = cachePath === null ? undefined : await readCacheEntry(cachePath, key, {
    decode: (m: CacheMeta, f) =>
      decodeCache(m, f, { classes: SPEECH_COMMANDS_CLASSES, frames, channels, nMfcc: cfg.nMfcc }),
    warn: options.warn,
  });
  if (cached) {
    ({ meta, value: host } = cached);
    log(`loaded cached splits from ${cachePath}`);
  } else {
    log(`preprocessing ${files.length} clips from ${dir} on the ${tf.getBackend()} backend`);
    const { features, labels, droppedFiles } = await featurise(files, cfg, frames, log);
    for (const [c, word] of SPEECH_COMMANDS_CLASSES.entries()) {
      if (!labels.includes(c)) throw new Error(`${join(dir, word)}: no clip of 16000 samples`);
    }
    const idx = stratifiedSplit(labels, { seed, trainFraction, valFraction });
    const { mean, std } = channelStats(features, idx.train, frames, cfg.nMfcc);
    host = { X: {} as HostSplits["X"], y: {} as HostSplits["y"] };
    for (const s of SPLITS) {
      const clips = idx[s];
      const X = new Float32Array(clips.length * frames * channels);
      const y = new Int32Array(clips.length);
      clips.forEach((c, i) => {
        y[i] = labels[c];
        for (let t = 0; t < frames; t++) {
          const src = (c * frames + t) * cfg.nMfcc, dst = (i * frames + t) * channels;
          X[dst] = t;
          for (let k = 0; k < cfg.nMfcc; k++) {
            X[dst + 1 + k] = (features[src + k] - mean[k]) / (std[k] + NORM_EPS);
          }
        }
      });
      host.X[s] = X;
      host.y[s] = y;
    }
    meta = {
      format: CACHE_FORMAT,
      key,
      classes: [...SPEECH_COMMANDS_CLASSES],
      times: Array.from({ length: frames }, (_, t) => t),
      mean,
      std,
      dropped: droppedFiles.length,
      droppedFiles,
      channels,
      sizes: { train: idx.train.length, val: idx.val.length, test: idx.test.length },
      settings,
      source: { files: files.length, bytes: files.reduce((a, f) => a + f.size, 0) },
    };
    const dropped = droppedFiles.length === 0
      ? ""
      : ` (dropped ${droppedFiles.length} not 16000 samples long: ${listNames(droppedFiles)})`;
    log(
      `kept ${labels.length} clips${dropped}; split ` +
        `${idx.train.length} / ${idx.val.length} / ${idx.test.length}`,
    );
    if (cachePath !== null) {
      await writeCacheEntry(cachePath, key, { meta, files: cacheFiles(host) });
      log(`cached in ${cachePath}`);
    }
  }
  const split = (s: SplitName): LabelledSplit => ({
    X: tf.tensor3d(host.X[s], [meta.sizes[s], frames, channels]),
    y: tf.tensor1d(host.y[s], "int32"),
  });
  return {
    train: split("train"),
    val: split("val"),
    test: split("test"),
    times: meta.times,
    classes: meta.classes,
    mean: meta.mean,
    std: meta.std,
    dropped: meta.dropped,
    droppedFiles: meta.droppedFiles,
    key,
    fromCache: cached !== undefined,
    cachePath,
  };
}
