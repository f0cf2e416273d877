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
 * The WAV codec is `wav.ts`, the download `download.ts`, the split `split.ts`; the command line
 * that prepares the data is `experiments/cde/data_main.ts` (`deno task speech-data`).
 *
 * @example Loading (here a directory made by the synthetic generator)
 * ```ts ignore
 * import * as tf from "@tensorflow/tfjs";
 * import { loadSpeechCommands } from "./speech_commands.ts";
 *
 * const data = await loadSpeechCommands({ dir: "data/speech_commands", seed: 0 });
 * console.log(data.train.X.shape, data.classes); // [24482, 161, 21], ["yes", "no", …]
 * tf.dispose([data.train, data.val, data.test]);
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { frameCount, mfcc, type MfccConfig, mfccConfig, type MfccOptions } from "./mfcc.ts";
import { decodeWav } from "./wav.ts";
import { downloadSpeechCommands } from "./download.ts";
import { stratifiedSplit } from "./split.ts";
import { cacheKey, readCacheEntry, writeCacheEntry } from "../data/mod.ts";

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

/** Bumped whenever the cached format or the preprocessing changes. */
const CACHE_FORMAT = 1;

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
  /** Hash of the source listing and every setting; names the cache entry. */
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
  label: number;
}

async function listSource(dir: string): Promise<SourceFile[]> {
  const files: SourceFile[] = [];
  for (const [label, word] of SPEECH_COMMANDS_CLASSES.entries()) {
    const folder = join(dir, word);
    const names: string[] = [];
    try {
      for await (const e of Deno.readDir(folder)) {
        if (e.isFile && e.name.toLowerCase().endsWith(".wav")) names.push(e.name);
      }
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new Error(
          `${folder} not found: ${dir} does not hold Speech Commands (it needs one folder per ` +
            `word: ${SPEECH_COMMANDS_CLASSES.join(", ")}). Pass download: true (--download) on a ` +
            `machine with internet, or generate a synthetic set with espeak-ng ` +
            `(models/cde/synthetic_speech.ts): deno task speech-data synthetic --out ${dir}`,
        );
      }
      throw e;
    }
    if (names.length === 0) throw new Error(`${folder} holds no .wav files`);
    names.sort();
    const sizes = await mapLimit(
      names,
      32,
      async (name) => (await Deno.stat(join(folder, name))).size,
    );
    names.forEach((name, i) => {
      files.push({ path: join(folder, name), rel: `${word}/${name}`, size: sizes[i], label });
    });
  }
  return files;
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

interface Settings {
  seed: number;
  trainFraction: number;
  valFraction: number;
  mfcc: Omit<MfccConfig, "chunkSize">;
}

interface CacheMeta {
  format: number;
  key: string;
  classes: string[];
  times: number[];
  mean: number[];
  std: number[];
  dropped: number;
  channels: number;
  sizes: { train: number; val: number; test: number };
  settings: Settings;
  source: { files: number; bytes: number };
}

const SPLITS = ["train", "val", "test"] as const;
type SplitName = typeof SPLITS[number];

interface HostSplits {
  X: Record<SplitName, Float32Array>;
  y: Record<SplitName, Int32Array>;
}

/** The files of a cache entry: each split's features and labels, little-endian. */
function cacheFiles(host: HostSplits): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const s of SPLITS) {
    files[`${s}_X.f32`] = toLittleEndianBytes(host.X[s]);
    files[`${s}_y.i32`] = toLittleEndianBytes(host.y[s]);
  }
  return files;
}

/** The splits of a verified cache entry; throws (the reason) on sizes that do not match the
 * metadata, labels outside the classes, or features that are not finite. */
function decodeCache(meta: CacheMeta, files: ReadonlyMap<string, Uint8Array>): HostSplits {
  const frames = meta.times.length, classes = meta.classes.length;
  const host: HostSplits = { X: {} as HostSplits["X"], y: {} as HostSplits["y"] };
  for (const s of SPLITS) {
    const xb = files.get(`${s}_X.f32`), yb = files.get(`${s}_y.i32`);
    if (xb === undefined || yb === undefined) throw new Error(`the ${s} split's files are missing`);
    const n = meta.sizes[s];
    if (xb.byteLength !== n * frames * meta.channels * 4 || yb.byteLength !== n * 4) {
      throw new Error(
        `the ${s} split's files do not hold ${n} clips of ${frames}×${meta.channels}`,
      );
    }
    const X = littleEndianFloat32(xb), y = littleEndianInt32(yb);
    const label = y.findIndex((c) => !(c >= 0 && c < classes));
    if (label >= 0) {
      throw new Error(`${s}_y.i32 holds label ${y[label]} at ${label}, not in 0…${classes - 1}`);
    }
    const value = X.findIndex((v) => !Number.isFinite(v));
    if (value >= 0) throw new Error(`${s}_X.f32 holds ${X[value]} at ${value}`);
    host.X[s] = X;
    host.y[s] = y;
  }
  return host;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function littleEndianFloat32(bytes: Uint8Array): Float32Array {
  if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) {
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Float32Array.from({ length: bytes.byteLength / 4 }, (_, i) => v.getFloat32(4 * i, true));
}

function littleEndianInt32(bytes: Uint8Array): Int32Array {
  if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) {
    return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Int32Array.from({ length: bytes.byteLength / 4 }, (_, i) => v.getInt32(4 * i, true));
}

function toLittleEndianBytes(a: Float32Array | Int32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const v = new DataView(out.buffer);
  a.forEach((x, i) =>
    a instanceof Float32Array ? v.setFloat32(4 * i, x, true) : v.setInt32(4 * i, x, true)
  );
  return out;
}

/** Reads, decodes and featurises the clips; returns the kept clips' MFCCs and labels. */
async function featurise(
  files: SourceFile[],
  cfg: MfccConfig,
  frames: number,
  log: (message: string) => void,
): Promise<{ features: Float32Array; labels: Int32Array; dropped: number }> {
  const perClip = frames * cfg.nMfcc;
  const features = new Float32Array(files.length * perClip);
  const labels = new Int32Array(files.length);
  let kept = 0, dropped = 0;
  const chunk = 512;
  const started = performance.now();
  for (let start = 0; start < files.length; start += chunk) {
    const batch = files.slice(start, start + chunk);
    const clips = await mapLimit(batch, 16, async (f) => {
      const clip = decodeWav(await Deno.readFile(f.path), f.path);
      if (clip.sampleRate !== SAMPLE_RATE) {
        throw new Error(`${f.path}: sample rate ${clip.sampleRate} Hz, expected ${SAMPLE_RATE}`);
      }
      return clip.samples;
    });
    const keep = batch.map((_, i) => clips[i].length === CLIP_SAMPLES);
    const n = keep.filter(Boolean).length;
    dropped += batch.length - n;
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
      const m = mfcc(x, cfg);
      try {
        features.set(await m.data() as Float32Array, kept * perClip);
      } finally {
        tf.dispose([x, m]);
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
    dropped,
  };
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
 * The result is cached under `cacheDir` in a folder named by a SHA-256 key over the source
 * listing (every kept-class file's relative path and size), the seed, the split fractions and
 * the MFCC settings; a later call with the same key reads the cache (plain little-endian
 * float32/int32 files, an entry of `models/data/cache.ts`) instead of recomputing, and any
 * change gives a new key. The entry is checked on reading (every file's size and SHA-256,
 * labels in range, finite features); an unusable one is reported through `warn` and rebuilt.
 * Features are computed on the active tfjs backend (`wasm` is about 15× faster than `cpu`).
 *
 * @example
 * ```ts ignore
 * import { loadSpeechCommands } from "./speech_commands.ts";
 *
 * const data = await loadSpeechCommands({ dir: "data/speech_commands", download: true });
 * console.log(data.train.X.shape, data.fromCache);
 * ```
 *
 * @param options Source directory, cache, seed and settings.
 * @returns The three splits as tensors (the caller disposes them) and their metadata.
 * @throws {Error} If `dir` lacks a word folder (and `download` is off or fails), a file is not
 *   16 kHz 16-bit mono PCM, or no clip of some class is 16000 samples long.
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

  const files = await listSource(dir);
  const { chunkSize: _, ...mfccSettings } = cfg;
  const settings: Settings = { seed, trainFraction, valFraction, mfcc: mfccSettings };
  const key = await cacheKey({
    format: CACHE_FORMAT,
    classes: SPEECH_COMMANDS_CLASSES,
    normEps: NORM_EPS,
    settings,
    files: files.map((f) => [f.rel, f.size]),
  });
  const cachePath = cacheDir === null
    ? null
    : join(cacheDir, `speech_commands-${key.slice(0, 20)}`);
  const frames = frameCount(CLIP_SAMPLES, cfg);
  const channels = 1 + cfg.nMfcc;

  let meta: CacheMeta;
  let host: HostSplits;
  const cached = cachePath === null
    ? undefined
    : await readCacheEntry(cachePath, key, { decode: decodeCache, warn: options.warn });
  if (cached) {
    ({ meta, value: host } = cached);
    log(`loaded cached splits from ${cachePath}`);
  } else {
    log(`preprocessing ${files.length} clips from ${dir} on the ${tf.getBackend()} backend`);
    const { features, labels, dropped } = await featurise(files, cfg, frames, log);
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
      dropped,
      channels,
      sizes: { train: idx.train.length, val: idx.val.length, test: idx.test.length },
      settings,
      source: { files: files.length, bytes: files.reduce((a, f) => a + f.size, 0) },
    };
    log(
      `kept ${labels.length} clips (dropped ${dropped} not 16000 samples long); split ` +
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
    key,
    fromCache: cached !== undefined,
    cachePath,
  };
}
