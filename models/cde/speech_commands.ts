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
 *
 * Command line (prints the split sizes; `--download` fetches the 2.3 GB archive first):
 *
 * ```sh
 * deno run -A models/cde/speech_commands.ts --dir data/speech_commands [--download] \
 *   [--cache-dir DIR] [--seed 0] [--backend wasm]
 * ```
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
import wavefile from "wavefile";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { frameCount, mfcc, type MfccConfig, mfccConfig, type MfccOptions } from "./mfcc.ts";
import { seededRandom } from "../data/random.ts";
import { useBackend } from "../../mod.ts";

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

/** Where the Speech Commands v0.02 archive (about 2.3 GB) is downloaded from. */
export const SPEECH_COMMANDS_URL =
  "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz";

/** Sample rate of the clips in Hz. */
export const SAMPLE_RATE = 16000;

/** Length of a kept clip in samples (one second); other lengths are dropped. */
export const CLIP_SAMPLES = 16000;

/** Bumped whenever the cached format or the preprocessing changes. */
const CACHE_FORMAT = 1;

/** Added to the training standard deviation before dividing, as in the reference code. */
const NORM_EPS = 1e-5;

// ---------------------------------------------------------------------------------------------
// WAV files

/** The samples of a 16-bit PCM mono WAV file. */
export interface WavClip {
  /** Sample rate in Hz, from the header. */
  sampleRate: number;
  /** The samples as signed 16-bit integers. */
  samples: Int16Array;
}

/**
 * Decodes a 16-bit PCM mono WAV file (parsed with the `wavefile` package).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeWav, encodeWav } from "./speech_commands.ts";
 *
 * const clip = decodeWav(encodeWav(Int16Array.from([0, 1, -32768, 32767]), 16000));
 * assert.equal(clip.sampleRate, 16000);
 * assert.deepEqual(Array.from(clip.samples), [0, 1, -32768, 32767]);
 * assert.throws(() => decodeWav(new Uint8Array(10), "x.wav"), /x\.wav: not a WAV file/);
 * ```
 *
 * @param bytes The file's bytes.
 * @param name Named in error messages (e.g. the path).
 * @returns The sample rate and the samples.
 * @throws {Error} If the bytes are not a little-endian RIFF WAV file of 16-bit PCM mono audio.
 */
export function decodeWav(bytes: Uint8Array, name = "WAV data"): WavClip {
  let wav: InstanceType<typeof wavefile.WaveFile>;
  try {
    wav = new wavefile.WaveFile(bytes); // keeps the raw sample bytes in wav.data.samples
  } catch (e) {
    throw new Error(`${name}: not a WAV file (${e instanceof Error ? e.message : e})`);
  }
  const fmt = wav.fmt as {
    audioFormat: number;
    numChannels: number;
    sampleRate: number;
    bitsPerSample: number;
  };
  if (wav.container !== "RIFF") {
    throw new Error(`${name}: expected a little-endian RIFF file, got "${wav.container}"`);
  }
  if (
    (fmt.audioFormat !== 1 && fmt.audioFormat !== 0xfffe) || fmt.bitsPerSample !== 16 ||
    fmt.numChannels !== 1
  ) {
    throw new Error(
      `${name}: expected 16-bit PCM mono, got format ${fmt.audioFormat}, ` +
        `${fmt.bitsPerSample} bits, ${fmt.numChannels} channel(s)`,
    );
  }
  const raw = (wav.data as { samples: Uint8Array }).samples;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const samples = new Int16Array(raw.byteLength >> 1);
  for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(2 * i, true);
  return { sampleRate: fmt.sampleRate, samples };
}

/**
 * Encodes samples as a 16-bit PCM mono WAV file (the Speech Commands format).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeWav } from "./speech_commands.ts";
 *
 * const bytes = encodeWav(new Int16Array(16000), 16000);
 * assert.equal(bytes.length, 44 + 32000);
 * assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), "RIFF");
 * ```
 *
 * @param samples Signed 16-bit samples.
 * @param sampleRate Sample rate in Hz (default 16000).
 * @returns The bytes of the file.
 */
export function encodeWav(samples: Int16Array, sampleRate: number = SAMPLE_RATE): Uint8Array {
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, sampleRate, "16", samples);
  return wav.toBuffer();
}

// ---------------------------------------------------------------------------------------------
// Download

/** Options of {@linkcode downloadSpeechCommands}. */
export interface DownloadOptions {
  /** Directory to unpack into (created if missing); the word folders end up directly in it. */
  dir: string;
  /** Archive URL. Default {@linkcode SPEECH_COMMANDS_URL}. */
  url?: string;
  /** Give up if the server has not answered within this many ms. Default 15000. */
  connectTimeoutMs?: number;
  /** Give up if no data arrives for this many ms during the transfer. Default 60000. */
  idleTimeoutMs?: number;
  /** Progress messages. Default: none. */
  log?: (message: string) => void;
}

function offlineHelp(url: string, dir: string): string {
  return `The Speech Commands download needs internet access to ${new URL(url).host}. ` +
    `On a machine without it, fetch ${url} elsewhere and unpack it into ${dir} ` +
    `(tar -xzf speech_commands_v0.02.tar.gz -C ${dir}), or generate a synthetic set in the ` +
    `same layout: deno run -A models/cde/synthetic_speech.ts --out ${dir}`;
}

/**
 * Downloads the Speech Commands v0.02 archive and unpacks it into `dir` (with the system's
 * `tar`), so that `dir/yes/…wav` etc. exist. Without a network it fails at once (DNS or
 * connection error) or after `connectTimeoutMs`, with a message saying what to do instead.
 *
 * @example Offline (a host that cannot resolve) fails fast with a clear message
 * ```ts
 * import assert from "node:assert/strict";
 * import { downloadSpeechCommands } from "./speech_commands.ts";
 *
 * await assert.rejects(
 *   downloadSpeechCommands({
 *     dir: await Deno.makeTempDir(),
 *     url: "http://download.invalid/speech_commands_v0.02.tar.gz",
 *     connectTimeoutMs: 2000,
 *   }),
 *   /needs internet access/,
 * );
 * ```
 *
 * @param options Where to unpack, and timeouts.
 * @returns When the files are unpacked.
 * @throws {Error} If the server cannot be reached, answers with an error status, stalls, or
 *   `tar` fails; the archive is then removed.
 */
export async function downloadSpeechCommands(options: DownloadOptions): Promise<void> {
  const {
    dir,
    url = SPEECH_COMMANDS_URL,
    connectTimeoutMs = 15000,
    idleTimeoutMs = 60000,
    log = () => {},
  } = options;
  await Deno.mkdir(dir, { recursive: true });
  const archive = join(dir, "speech_commands_v0.02.tar.gz.part");
  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(), connectTimeoutMs);
  let response: Response;
  try {
    response = await fetch(url, { signal: controller.signal });
  } catch (e) {
    clearTimeout(timer);
    const cause = controller.signal.aborted
      ? `no answer within ${connectTimeoutMs} ms`
      : String((e as Error).cause ?? (e as Error).message ?? e);
    throw new Error(`Cannot download ${url}: ${cause}. ${offlineHelp(url, dir)}`);
  }
  clearTimeout(timer);
  if (!response.ok || response.body === null) {
    await response.body?.cancel();
    throw new Error(`Cannot download ${url}: HTTP ${response.status} ${response.statusText}`);
  }
  const total = Number(response.headers.get("content-length") ?? NaN);
  log(`downloading ${url}${Number.isFinite(total) ? ` (${(total / 1e9).toFixed(2)} GB)` : ""}`);
  const file = await Deno.open(archive, { write: true, create: true, truncate: true });
  try {
    let received = 0, lastReport = 0;
    timer = setTimeout(() => controller.abort(), idleTimeoutMs);
    try {
      for await (const chunk of response.body) {
        clearTimeout(timer);
        timer = setTimeout(() => controller.abort(), idleTimeoutMs);
        let written = 0;
        while (written < chunk.length) written += await file.write(chunk.subarray(written));
        received += chunk.length;
        if (received - lastReport >= 100e6) {
          lastReport = received;
          const pct = Number.isFinite(total) ? ` (${((100 * received) / total).toFixed(0)}%)` : "";
          log(`  ${(received / 1e6).toFixed(0)} MB${pct}`);
        }
      }
    } catch (e) {
      const why = controller.signal.aborted ? `no data for ${idleTimeoutMs} ms` : String(e);
      throw new Error(`Download of ${url} failed after ${received} bytes: ${why}`);
    } finally {
      clearTimeout(timer);
    }
    file.close();
    log(`unpacking into ${dir}`);
    const tar = await new Deno.Command("tar", {
      args: ["-xzf", archive, "-C", dir],
      stdout: "null",
      stderr: "piped",
    }).output().catch((e) => {
      throw new Error(`Cannot run tar to unpack ${archive}: ${e}`);
    });
    if (!tar.success) {
      throw new Error(
        `tar failed to unpack ${archive}: ${new TextDecoder().decode(tar.stderr).trim()}`,
      );
    }
  } finally {
    try {
      file.close();
    } catch { /* already closed */ }
    await Deno.remove(archive).catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// Split

/** Options of {@linkcode stratifiedSplit}. */
export interface SplitOptions {
  /** Seed of the shuffles. Default 0. */
  seed?: number;
  /** Fraction of the examples in the training split. Default 0.7. */
  trainFraction?: number;
  /** Fraction in the validation split; the test split gets the rest. Default 0.15. */
  valFraction?: number;
}

/** Example indices of each split. */
export interface SplitIndices {
  /** Indices of the training examples. */
  train: number[];
  /** Indices of the validation examples. */
  val: number[];
  /** Indices of the test examples. */
  test: number[];
}

/** Integer counts proportional to `weights` summing to `total` (largest remainders, ties to
 * the lower index), never above the weight. */
function apportion(weights: number[], total: number): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0) return weights.map(() => 0);
  const quotas = weights.map((w) => (total * w) / sum);
  const counts = quotas.map(Math.floor);
  let left = total - counts.reduce((a, b) => a + b, 0);
  const order = quotas
    .map((q, i) => ({ i, frac: q - Math.floor(q) }))
    .sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (let j = 0; left > 0; j = (j + 1) % order.length) {
    const i = order[j].i;
    if (counts[i] < weights[i]) {
      counts[i]++;
      left--;
    }
  }
  return counts;
}

function shuffle(a: number[], rand: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
}

/**
 * A deterministic stratified train/val/test split. The split sizes are
 * `floor(trainFraction·n)`, `floor(valFraction·n)` and the rest (24,482 / 5,246 / 5,247 for
 * the 34,975 clips, as scikit-learn's two-stage `train_test_split` gives); each class gets its
 * share of the training split, then of the validation split, by largest remainders. Within a
 * class the examples are shuffled by a seeded generator, and each split's order is shuffled
 * too, so that any prefix mixes the classes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stratifiedSplit } from "./speech_commands.ts";
 *
 * const labels = Array.from({ length: 200 }, (_, i) => i % 2);
 * const { train, val, test } = stratifiedSplit(labels, { seed: 1 });
 * assert.deepEqual([train.length, val.length, test.length], [140, 30, 30]);
 * assert.equal(train.filter((i) => labels[i] === 0).length, 70);
 * assert.deepEqual(stratifiedSplit(labels, { seed: 1 }).val, val);
 * ```
 *
 * @param labels Class of each example (non-negative integers).
 * @param options Seed and fractions.
 * @returns Disjoint index lists covering every example.
 * @throws {RangeError} On fractions outside (0, 1) or summing to more than 1, or bad labels.
 */
export function stratifiedSplit(
  labels: ArrayLike<number>,
  options: SplitOptions = {},
): SplitIndices {
  const { seed = 0, trainFraction = 0.7, valFraction = 0.15 } = options;
  if (!(trainFraction > 0 && valFraction >= 0 && trainFraction + valFraction <= 1)) {
    throw new RangeError(
      `stratifiedSplit: need trainFraction > 0, valFraction >= 0 and their sum <= 1, got ` +
        `${trainFraction} and ${valFraction}`,
    );
  }
  const n = labels.length;
  const byClass: number[][] = [];
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0) {
      throw new RangeError(`stratifiedSplit: label ${i} is ${c}, not a class index`);
    }
    (byClass[c] ??= []).push(i);
  }
  for (let c = 0; c < byClass.length; c++) byClass[c] ??= [];
  const rand = seededRandom(seed);
  for (const members of byClass) shuffle(members, rand);
  const sizes = byClass.map((m) => m.length);
  const nTrain = Math.floor(trainFraction * n);
  const nVal = Math.floor(valFraction * n);
  const trainCounts = apportion(sizes, nTrain);
  const rest = sizes.map((s, c) => s - trainCounts[c]);
  const valCounts = apportion(rest, nVal);
  const out: SplitIndices = { train: [], val: [], test: [] };
  byClass.forEach((members, c) => {
    out.train.push(...members.slice(0, trainCounts[c]));
    out.val.push(...members.slice(trainCounts[c], trainCounts[c] + valCounts[c]));
    out.test.push(...members.slice(trainCounts[c] + valCounts[c]));
  });
  shuffle(out.train, rand);
  shuffle(out.val, rand);
  shuffle(out.test, rand);
  return out;
}

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
            `machine with internet, or generate a synthetic set: ` +
            `deno run -A models/cde/synthetic_speech.ts --out ${dir}`,
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

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
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

async function readCache(
  path: string,
  key: string,
): Promise<{ meta: CacheMeta; host: HostSplits } | null> {
  let meta: CacheMeta;
  try {
    meta = JSON.parse(await Deno.readTextFile(join(path, "meta.json")));
  } catch {
    return null;
  }
  if (meta.format !== CACHE_FORMAT || meta.key !== key) return null;
  const frames = meta.times.length;
  const host: HostSplits = { X: {} as HostSplits["X"], y: {} as HostSplits["y"] };
  try {
    for (const s of SPLITS) {
      const xb = await Deno.readFile(join(path, `${s}_X.f32`));
      const yb = await Deno.readFile(join(path, `${s}_y.i32`));
      if (
        xb.byteLength !== meta.sizes[s] * frames * meta.channels * 4 ||
        yb.byteLength !== meta.sizes[s] * 4
      ) return null;
      host.X[s] = littleEndianFloat32(xb);
      host.y[s] = littleEndianInt32(yb);
    }
  } catch {
    return null;
  }
  return { meta, host };
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

async function writeCache(path: string, meta: CacheMeta, host: HostSplits): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}-${Math.random().toString(36).slice(2)}`;
  await Deno.mkdir(tmp, { recursive: true });
  try {
    for (const s of SPLITS) {
      await Deno.writeFile(join(tmp, `${s}_X.f32`), toLittleEndianBytes(host.X[s]));
      await Deno.writeFile(join(tmp, `${s}_y.i32`), toLittleEndianBytes(host.y[s]));
    }
    await Deno.writeTextFile(join(tmp, "meta.json"), JSON.stringify(meta, null, 1));
    await Deno.remove(path, { recursive: true }).catch(() => {}); // a stale or broken entry
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    // Another process may have written the same entry meanwhile; that one is as good.
    if (!(await readCache(path, meta.key))) throw e;
  }
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
 * float32/int32 files and `meta.json`) instead of recomputing, and any change gives a new key.
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
  const key = await sha256Hex(JSON.stringify({
    format: CACHE_FORMAT,
    classes: SPEECH_COMMANDS_CLASSES,
    normEps: NORM_EPS,
    settings,
    files: files.map((f) => [f.rel, f.size]),
  }));
  const cachePath = cacheDir === null
    ? null
    : join(cacheDir, `speech_commands-${key.slice(0, 20)}`);
  const frames = frameCount(CLIP_SAMPLES, cfg);
  const channels = 1 + cfg.nMfcc;

  let meta: CacheMeta;
  let host: HostSplits;
  const cached = cachePath === null ? null : await readCache(cachePath, key);
  if (cached) {
    ({ meta, host } = cached);
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
      await Deno.mkdir(cacheDir as string, { recursive: true });
      await writeCache(cachePath, meta, host);
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
    fromCache: cached !== null,
    cachePath,
  };
}

// ---------------------------------------------------------------------------------------------
// Command line

const USAGE = `Usage: deno run -A models/cde/speech_commands.ts --dir DIR [options]

Preprocesses Speech Commands (or a synthetic set in the same layout) into cached splits.

  --dir DIR         folder with one subfolder per word (yes, no, …)   (required)
  --download        download and unpack the data set into DIR first if it is missing
  --cache-dir DIR   cache folder (default DIR/.fasterode_cache)
  --seed N          split seed (default 0)
  --backend NAME    tfjs backend for the features: wasm (default) or cpu
  --help            this text`;

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      dir: { type: "string" },
      download: { type: "boolean", default: false },
      "cache-dir": { type: "string" },
      seed: { type: "string", default: "0" },
      backend: { type: "string", default: "wasm" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.dir === undefined) throw new Error(`--dir is required\n\n${USAGE}`);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got ${values.seed}`);
  if (values.backend !== "wasm" && values.backend !== "cpu") {
    throw new Error(`--backend must be wasm or cpu, got ${values.backend}`);
  }
  await useBackend(values.backend);
  const t0 = performance.now();
  const data = await loadSpeechCommands({
    dir: values.dir,
    cacheDir: values["cache-dir"],
    seed,
    download: values.download,
    log: (m) => console.log(m),
  });
  for (const s of SPLITS) {
    const y = await data[s].y.data();
    const counts = data.classes.map((_, c) => y.filter((v) => v === c).length);
    console.log(`${s}: X ${JSON.stringify(data[s].X.shape)}, per class ${counts.join(" ")}`);
  }
  console.log(
    `done in ${((performance.now() - t0) / 1000).toFixed(1)} s (key ${data.key.slice(0, 20)})`,
  );
  tf.dispose([data.train, data.val, data.test]);
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    console.error(`error: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
