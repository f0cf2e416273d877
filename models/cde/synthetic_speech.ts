/**
 * A synthetic stand-in for Speech Commands: the ten command words spoken by espeak-ng, written
 * in the data set's layout (`<out>/<word>/*.wav`, 16-bit PCM mono 16 kHz, one second), so that
 * `loadSpeechCommands` and the Neural CDE experiment run on machines without the 2.3 GB
 * download.
 *
 * Each clip is one word with its own voice (7 English accents × 12 male and female variants),
 * speed (110–200 words per minute) and pitch (25–75 of espeak's 0–99), resampled from
 * espeak-ng's 22050 Hz to 16 kHz (`resample.ts`), trimmed of silence, scaled to a random
 * peak level, placed at a random offset in (or cropped to) one second, and mixed with
 * background noise of random level (−70 to −26 dB re full scale) and colour (white to
 * brown-ish). Clip `i` depends only on `(seed, i)`, so a set is reproducible and a larger
 * `count` extends a smaller one. Labels are balanced: clip `i` speaks word `i mod 10`.
 *
 * Needs the `espeak-ng` program (Debian/Ubuntu package `espeak-ng`).
 * The command line that writes a set is `experiments/cde/data_main.ts`
 * (`deno task speech-data synthetic --out DIR --count N --seed S`); {@linkcode ensureSyntheticSpeech}
 * keeps a set as a checked cache entry (made once, verified when reused).
 *
 * @example Generate a few clips (where espeak-ng is installed)
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import {
 *   decodeWav,
 *   espeakAvailable,
 *   generateSyntheticSpeech,
 * } from "@fasterode/fasterode/models/cde";
 *
 * if (await espeakAvailable()) {
 *   const out = await Deno.makeTempDir();
 *   const result = await generateSyntheticSpeech({ out, count: 10 });
 *   assert.deepEqual(result.perClass, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]); // one clip per word
 *   assert.equal(result.files[3], "down/synth_s0_00003.wav");
 *   const clip = decodeWav(await Deno.readFile(join(out, result.files[3])));
 *   assert.deepEqual([clip.sampleRate, clip.samples.length], [16000, 16000]);
 *   await Deno.remove(out, { recursive: true });
 * }
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { CLIP_SAMPLES, SAMPLE_RATE, SPEECH_COMMANDS_CLASSES } from "./speech_commands.ts";
import { decodeWav, encodeWav } from "./wav.ts";
import { resample } from "./resample.ts";
import { cacheKey, readCacheEntry, rootPath, seededRandom, writeCacheEntry } from "../data/mod.ts";

/** espeak-ng voices (English accents) the generator draws from. ("en-gb" is left out: in
 * espeak-ng 1.51 it ignores the `+variant` suffix; "en" is the same British voice.) */
export const ESPEAK_VOICES: readonly string[] = Object.freeze([
  "en",
  "en-us",
  "en-gb-scotland",
  "en-gb-x-rp",
  "en-gb-x-gbclan",
  "en-gb-x-gbcwmd",
  "en-029",
]);

/** espeak-ng voice variants (male 1–7, female 1–5) the generator draws from. */
export const ESPEAK_VARIANTS: readonly string[] = Object.freeze([
  "m1",
  "m2",
  "m3",
  "m4",
  "m5",
  "m6",
  "m7",
  "f1",
  "f2",
  "f3",
  "f4",
  "f5",
]);

// ---------------------------------------------------------------------------------------------
// Clips

/** How clip `index` of a set is made; drawn from `(seed, index)` alone. */
export interface ClipRecipe {
  /** Position in the set. */
  index: number;
  /** Label (`index mod 10`). */
  label: number;
  /** The word spoken. */
  word: string;
  /** espeak-ng voice with variant, e.g. `"en-us+f2"`. */
  voice: string;
  /** Speed in words per minute (espeak-ng `-s`). */
  speed: number;
  /** Pitch, 0–99 (espeak-ng `-p`). */
  pitch: number;
  /** Peak level of the speech, as a fraction of full scale. */
  peak: number;
  /** Standard deviation of the background noise, as a fraction of full scale. */
  noiseStd: number;
  /** AR(1) coefficient of the noise: 0 is white, near 1 is brown-ish. */
  noiseColour: number;
  /** Where in the free room the word starts (or where the crop starts), in [0, 1). */
  offset: number;
  /** Seed of the noise samples. */
  noiseSeed: number;
}

/** A 32-bit hash of (seed, index), so each clip gets its own random stream. */
function mix(seed: number, index: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The recipe of clip `index` in the set made with `seed`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clipRecipe } from "@fasterode/fasterode/models/cde";
 *
 * const r = clipRecipe(0, 13);
 * assert.equal(r.word, "down"); // label 13 mod 10 = 3
 * assert.deepEqual(clipRecipe(0, 13), r);
 * assert.notDeepEqual(clipRecipe(1, 13), r);
 * ```
 *
 * @param seed Seed of the set.
 * @param index Clip number.
 * @returns The clip's settings.
 */
export function clipRecipe(seed: number, index: number): ClipRecipe {
  const rand = seededRandom(mix(seed, index));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const label = index % SPEECH_COMMANDS_CLASSES.length;
  const voice = `${pick(ESPEAK_VOICES)}+${pick(ESPEAK_VARIANTS)}`;
  return {
    index,
    label,
    word: SPEECH_COMMANDS_CLASSES[label],
    voice,
    speed: Math.round(110 + 90 * rand()),
    pitch: Math.round(25 + 50 * rand()),
    peak: 0.15 + 0.75 * rand(),
    noiseStd: 10 ** (-3.5 + 2.2 * rand()),
    noiseColour: 0.98 * rand() ** 2,
    offset: rand(),
    noiseSeed: Math.floor(rand() * 2 ** 32),
  };
}

/** Runs espeak-ng and returns its 22050 Hz samples in [-1, 1]. */
async function speak(
  recipe: ClipRecipe,
  espeak: string,
): Promise<{ rate: number; x: Float32Array }> {
  const args = [
    "-v",
    recipe.voice,
    "-s",
    String(recipe.speed),
    "-p",
    String(recipe.pitch),
    "--stdout",
    recipe.word,
  ];
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(espeak, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    throw new Error(cannotRun(espeak, e) ?? String(e));
  }
  const err = new TextDecoder().decode(out.stderr).trim();
  if (!out.success || out.stdout.length <= 44) {
    throw new Error(`${espeak} ${args.join(" ")} failed (exit ${out.code}): ${err || "no audio"}`);
  }
  const clip = decodeWav(out.stdout, `output of ${espeak} ${args.join(" ")}`);
  return { rate: clip.sampleRate, x: Float32Array.from(clip.samples, (v) => v / 32768) };
}

/** Why `espeak` could not be started (the error of `Deno.Command`), in one line saying what
 * to do; `undefined` for an error of another kind. A missing Deno permission is reported as
 * such, not as a missing program. */
function cannotRun(espeak: string, error: unknown): string | undefined {
  if (error instanceof Deno.errors.NotCapable) {
    return `${espeak} cannot be run: this Deno process lacks the run permission for it; ` +
      `run deno with --allow-run=${espeak} (or -A)`;
  }
  if (error instanceof Deno.errors.NotFound) {
    return `${espeak} not found: the synthetic speech generator needs espeak-ng ` +
      `(Debian/Ubuntu: apt-get install espeak-ng; macOS: brew install espeak-ng)`;
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return `${espeak} cannot be run: the system denies it (${(error as Error).message}); ` +
      `check that it is an executable program`;
  }
  return undefined;
}

/** `undefined` when `espeak --version` runs, else why not (one line with what to do). */
async function probeEspeak(espeak: string): Promise<string | undefined> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(espeak, { args: ["--version"], stdout: "null", stderr: "piped" })
      .output();
  } catch (e) {
    return cannotRun(espeak, e) ?? `${espeak} cannot be run: ${e}`;
  }
  if (out.success) return undefined;
  const err = new TextDecoder().decode(out.stderr).trim();
  return `${espeak} --version failed (exit ${out.code})${err ? `: ${err}` : ""}`;
}

/** Standard normal samples (Box–Muller) from a seeded stream. */
function gaussian(rand: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const u = 1 - rand(), v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/**
 * Places speech into one second with noise, following the recipe: trims leading and trailing
 * samples below 2% of the peak (keeping 10 ms), scales to `recipe.peak`, puts the word at
 * `offset` of the free room (or crops one second starting at `offset` of the excess), adds
 * AR(1) noise of standard deviation `noiseStd`, and quantises to 16 bits with clipping.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clipRecipe, composeClip } from "@fasterode/fasterode/models/cde";
 *
 * const speech = Float32Array.from({ length: 8000 }, (_, i) => Math.sin(i / 5));
 * const clip = composeClip(speech, clipRecipe(0, 0));
 * assert.equal(clip.length, 16000);
 * ```
 *
 * @param speech 16 kHz speech samples.
 * @param recipe The clip's settings.
 * @returns Exactly 16000 signed 16-bit samples.
 */
export function composeClip(speech: Float32Array, recipe: ClipRecipe): Int16Array {
  let peak = 0;
  for (const v of speech) peak = Math.max(peak, Math.abs(v));
  let start = 0, end = speech.length;
  if (peak > 0) {
    const threshold = 0.02 * peak, margin = Math.round(0.01 * SAMPLE_RATE);
    while (start < end && Math.abs(speech[start]) < threshold) start++;
    while (end > start && Math.abs(speech[end - 1]) < threshold) end--;
    start = Math.max(0, start - margin);
    end = Math.min(speech.length, end + margin);
  }
  let word = speech.subarray(start, end);
  if (word.length > CLIP_SAMPLES) {
    const crop = Math.floor(recipe.offset * (word.length - CLIP_SAMPLES + 1));
    word = word.subarray(crop, crop + CLIP_SAMPLES);
  }
  const at = Math.floor(recipe.offset * (CLIP_SAMPLES - word.length + 1));
  const gain = peak > 0 ? recipe.peak / peak : 0;
  const normal = gaussian(seededRandom(recipe.noiseSeed));
  const a = recipe.noiseColour, b = Math.sqrt(1 - a * a);
  let state = normal();
  const out = new Int16Array(CLIP_SAMPLES);
  for (let t = 0; t < CLIP_SAMPLES; t++) {
    state = a * state + b * normal(); // unit-variance AR(1)
    const s = t >= at && t < at + word.length ? gain * word[t - at] : 0;
    const v = Math.round((s + recipe.noiseStd * state) * 32767);
    out[t] = Math.max(-32768, Math.min(32767, v));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Generation

/**
 * Whether the espeak-ng program can be run: installed, and allowed by this process's Deno
 * permissions (`--allow-run`). The generator itself says which of the two is missing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { espeakAvailable } from "@fasterode/fasterode/models/cde";
 *
 * assert.equal(await espeakAvailable("no-such-espeak-ng-program"), false);
 * assert.equal(typeof (await espeakAvailable()), "boolean"); // true where espeak-ng is installed
 * ```
 *
 * @param espeak Program name or path. Default `"espeak-ng"`.
 * @returns True if `espeak --version` runs successfully.
 */
export async function espeakAvailable(espeak = "espeak-ng"): Promise<boolean> {
  return (await probeEspeak(espeak)) === undefined;
}

/** Options of {@linkcode generateSyntheticSpeech}. */
export interface SyntheticSpeechOptions {
  /** Output directory; the word folders are created in it. */
  out: string;
  /** Number of clips (at least 10: one per word). Default 3000. */
  count?: number;
  /** Seed of every random choice. Default 0. */
  seed?: number;
  /** espeak-ng processes run at once. Default 2. */
  concurrency?: number;
  /** Program name or path of espeak-ng. Default `"espeak-ng"`. */
  espeak?: string;
  /** Called after each clip with the number done so far and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** What {@linkcode generateSyntheticSpeech} did. */
export interface SyntheticSpeechResult {
  /** Clips written. */
  count: number;
  /** Clips per word, in label order. */
  perClass: number[];
  /** Relative paths of the clips, in clip order (`<word>/synth_s<seed>_<index>.wav`, the index
   * zero-padded to 5 digits). */
  files: string[];
  /** Wall-clock time in seconds. */
  seconds: number;
}

/**
 * Writes `count` synthetic Speech Commands clips into `out` (see the module documentation),
 * running `concurrency` espeak-ng processes at a time. Existing files of the same names are
 * overwritten; other files are left alone.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { generateSyntheticSpeech } from "@fasterode/fasterode/models/cde";
 *
 * const seen: number[] = [];
 * const result = await generateSyntheticSpeech({
 *   out: "data/synthetic_speech",
 *   count: 3000, // 2–4 minutes on 2 cores
 *   onProgress: (done, total) => done % 500 === 0 && seen.push(done / total),
 * });
 * assert.deepEqual(result.perClass, new Array(10).fill(300));
 * assert.equal(seen.at(-1), 1);
 * ```
 *
 * @param options Where, how many, seed and parallelism.
 * @returns The clips written and the time taken.
 * @throws {Error} If espeak-ng is missing, not permitted (`--allow-run`) or fails, or on bad
 *   options.
 */
export async function generateSyntheticSpeech(
  options: SyntheticSpeechOptions,
): Promise<SyntheticSpeechResult> {
  const {
    out,
    count = 3000,
    seed = 0,
    concurrency = 2,
    espeak = "espeak-ng",
    onProgress = () => {},
  } = options;
  const nClasses = SPEECH_COMMANDS_CLASSES.length;
  if (!Number.isInteger(count) || count < nClasses) {
    throw new RangeError(
      `generateSyntheticSpeech: count must be an integer >= ${nClasses}, got ${count}`,
    );
  }
  if (!Number.isInteger(seed)) {
    throw new RangeError(`generateSyntheticSpeech: seed must be an integer`);
  }
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`generateSyntheticSpeech: concurrency must be a positive integer`);
  }
  const unavailable = await probeEspeak(espeak);
  if (unavailable !== undefined) throw new Error(unavailable);
  const started = performance.now();
  for (const word of SPEECH_COMMANDS_CLASSES) {
    await Deno.mkdir(join(out, word), { recursive: true });
  }
  const digits = Math.max(5, String(count - 1).length); // same names for any count below 1e5
  const files: string[] = new Array(count);
  const perClass = new Array<number>(nClasses).fill(0);
  let next = 0, done = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      const recipe = clipRecipe(seed, index);
      const { rate, x } = await speak(recipe, espeak);
      const clip = composeClip(resample(x, rate, SAMPLE_RATE), recipe);
      const rel = `${recipe.word}/synth_s${seed}_${String(index).padStart(digits, "0")}.wav`;
      await Deno.writeFile(join(out, rel), encodeWav(clip, SAMPLE_RATE));
      files[index] = rel;
      perClass[recipe.label]++;
      onProgress(++done, count);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { count, perClass, files, seconds: (performance.now() - started) / 1000 };
}

// ---------------------------------------------------------------------------------------------
// A kept set

/** Bumped whenever the generator's output changes, so that kept sets are made again. */
const SYNTHETIC_FORMAT = 1;

/** Options of {@linkcode ensureSyntheticSpeech}. */
export interface EnsureSyntheticOptions {
  /** Number of clips (at least 10). */
  count: number;
  /** Seed of the clips (default 0). */
  seed?: number;
  /**
   * Parent folder of the set (default `<root>/data`, `rootPath("data")` of models/data/root.ts;
   * a folder given is relative to the current directory): the set is
   * `<dataDir>/synthetic-<count>-<seed>`.
   */
  dataDir?: string;
  /** espeak-ng processes run at once (default 2). */
  concurrency?: number;
  /** Program name or path of espeak-ng (default `"espeak-ng"`). */
  espeak?: string;
  /** Progress messages (default: none). */
  log?: (message: string) => void;
  /** Receives the one-line report of an unusable set (a missing, truncated or changed clip, an
   * interrupted generation), which is then made again. Default `console.warn`. */
  warn?: (message: string) => void;
}

/** What {@linkcode ensureSyntheticSpeech} returns. */
export interface SyntheticSpeechSet {
  /** The folder of word folders, `<dataDir>/synthetic-<count>-<seed>`. */
  dir: string;
  /** Whether the clips were generated by this call (false: a kept set was reused). */
  generated: boolean;
  /** Seconds spent generating in this call (0 when reused). */
  seconds: number;
}

/** The metadata of a kept set (in its cache manifest). */
interface SyntheticMeta {
  count: number;
  seed: number;
  perClass: number[];
  seconds: number;
}

/**
 * The folder of a synthetic Speech Commands set of `count` clips spoken by espeak-ng
 * ({@linkcode generateSyntheticSpeech}), `<dataDir>/synthetic-<count>-<seed>`, kept as an entry
 * of the data cache (`models/data/cache.ts`): reused when the set there is complete, every
 * clip has the size and SHA-256 its manifest records and no other clip was added; else (no set, an interrupted generation,
 * a damaged clip — reported through `warn`) generated into a temporary folder, 10–25 clips a
 * second on 2 cores, and renamed into place.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { ensureSyntheticSpeech } from "@fasterode/fasterode/models/cde";
 *
 * const first = await ensureSyntheticSpeech({ count: 2000 }); // about 2–3 minutes, once
 * assert.equal(first.dir, "data/synthetic-2000-0");
 * const again = await ensureSyntheticSpeech({ count: 2000 }); // verified and reused
 * assert.deepEqual(again, { dir: first.dir, generated: false, seconds: 0 });
 * ```
 *
 * @param options How many clips, their seed, and where.
 * @returns The folder, whether it was generated now, and the seconds that took.
 * @throws {Error} If espeak-ng is missing, not permitted (`--allow-run`) or fails, or on bad
 *   options.
 */
export async function ensureSyntheticSpeech(
  options: EnsureSyntheticOptions,
): Promise<SyntheticSpeechSet> {
  const { count, seed = 0, dataDir = rootPath("data"), concurrency, espeak, log = () => {} } =
    options;
  const classes = SPEECH_COMMANDS_CLASSES.length;
  if (!Number.isInteger(count) || count < classes) {
    throw new RangeError(
      `ensureSyntheticSpeech: count must be an integer >= ${classes}, got ${count}`,
    );
  }
  if (!Number.isInteger(seed)) {
    throw new RangeError(`ensureSyntheticSpeech: seed must be an integer, got ${seed}`);
  }
  const dir = join(dataDir, `synthetic-${count}-${seed}`);
  const key = await cacheKey({ format: SYNTHETIC_FORMAT, generator: "espeak-ng", count, seed });
  const kept = await readCacheEntry(dir, key, {
    load: false,
    decode: (meta: SyntheticMeta) => {
      if (meta.count !== count || meta.seed !== seed) {
        throw new Error(`it holds ${meta.count} clips of seed ${meta.seed}`);
      }
      // The manifest covers the clips it lists; a clip added beside them would be loaded too.
      for (const [label, word] of SPEECH_COMMANDS_CLASSES.entries()) {
        const wavs = [...Deno.readDirSync(join(dir, word))]
          .filter((e) => e.name.toLowerCase().endsWith(".wav")).length;
        if (wavs !== meta.perClass?.[label]) {
          throw new Error(
            `${word}/ holds ${wavs} .wav files, the set has ${meta.perClass?.[label]}`,
          );
        }
      }
      return meta;
    },
    warn: options.warn,
  });
  if (kept) return { dir, generated: false, seconds: 0 };
  log(`speaking ${count} clips with espeak-ng into ${dir} (once; reused by later runs)`);
  const step = Math.max(1, Math.round(count / 10));
  const started = performance.now();
  const manifest = await writeCacheEntry<SyntheticMeta>(dir, key, async (out) => {
    const result = await generateSyntheticSpeech({
      out,
      count,
      seed,
      concurrency,
      espeak,
      onProgress: (done, total) => {
        if (done % step === 0 || done === total) {
          const secs = (performance.now() - started) / 1000;
          log(`  ${done}/${total} clips (${(done / secs).toFixed(1)} clips/s)`);
        }
      },
    });
    return { count, seed, perClass: result.perClass, seconds: result.seconds };
  });
  return { dir, generated: true, seconds: manifest.meta.seconds };
}
