// Speech Commands data side: WAV coding, the stratified split, the download path (offline and
// against a local server), and the loader with its checked cache on a hand-made data set whose
// classes are recognisable from their features. (The synthetic set: synthetic_speech_test.ts.)

import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../../mod.ts";
import {
  decodeWav,
  downloadSpeechCommands,
  encodeWav,
  loadSpeechCommands,
  SPEECH_COMMANDS_CLASSES,
  type SpeechCommandsData,
  SpeechDataUnavailableError,
  stratifiedSplit,
} from "../../../models/cde/mod.ts";
import { seededRandom, writeCacheEntry } from "../../../models/data/mod.ts";

await useBackend("cpu");

const WORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"];

// ---------------------------------------------------------------------------------------------
// WAV

Deno.test("decodeWav/encodeWav: 16-bit PCM mono round trip; other formats are refused", () => {
  const samples = Int16Array.from({ length: 999 }, (_, i) => ((i * 7919) % 65536) - 32768);
  const bytes = encodeWav(samples, 22050);
  assert.equal(bytes.length, 44 + 2 * 999);
  const clip = decodeWav(bytes);
  assert.equal(clip.sampleRate, 22050);
  assert.deepEqual(clip.samples, samples);
  // Patch the header: 2 channels (offset 22), then 8 bits per sample (offset 34).
  const stereo = bytes.slice();
  new DataView(stereo.buffer).setUint16(22, 2, true);
  assert.throws(() => decodeWav(stereo, "stereo.wav"), /stereo\.wav: expected 16-bit PCM mono/);
  const eightBit = bytes.slice();
  new DataView(eightBit.buffer).setUint16(34, 8, true);
  assert.throws(() => decodeWav(eightBit, "8bit.wav"), /8 bits/);
  assert.throws(() => decodeWav(new TextEncoder().encode("hello"), "t.wav"), /not a WAV file/);
});

// ---------------------------------------------------------------------------------------------
// Split

Deno.test("stratifiedSplit: sklearn's totals, each class in proportion, deterministic", () => {
  const sizes = [501, 300, 149, 50, 7];
  const labels: number[] = [];
  const rand = seededRandom(9);
  sizes.forEach((s, c) => labels.push(...Array(s).fill(c)));
  labels.sort(() => rand() - 0.5); // interleave the classes
  const n = labels.length;
  const split = stratifiedSplit(labels, { seed: 3 });
  assert.equal(split.train.length, Math.floor(0.7 * n));
  assert.equal(split.val.length, Math.floor(0.15 * n));
  assert.equal(split.test.length, n - split.train.length - split.val.length);
  // Disjoint and covering.
  const all = [...split.train, ...split.val, ...split.test].sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: n }, (_, i) => i));
  // Per class within one example of its share (largest remainders).
  for (const [c, size] of sizes.entries()) {
    const count = (idx: number[]): number => idx.filter((i) => labels[i] === c).length;
    assert.ok(Math.abs(count(split.train) - 0.7 * size) <= 1, `class ${c} train`);
    assert.ok(Math.abs(count(split.val) - 0.15 * size) <= 1.5, `class ${c} val`);
    assert.ok(Math.abs(count(split.test) - 0.15 * size) <= 1.5, `class ${c} test`);
  }
  assert.deepEqual(stratifiedSplit(labels, { seed: 3 }), split);
  assert.notDeepEqual(stratifiedSplit(labels, { seed: 4 }).train, split.train);
  // The real data set's 34,975 clips give the reference's 24,482 / 5,246 / 5,247.
  const real = stratifiedSplit(Array.from({ length: 34975 }, (_, i) => i % 10));
  assert.deepEqual([real.train.length, real.val.length, real.test.length], [24482, 5246, 5247]);
  assert.throws(() => stratifiedSplit(labels, { trainFraction: 0.9, valFraction: 0.2 }), /sum/);
});

// ---------------------------------------------------------------------------------------------
// Download

Deno.test("downloadSpeechCommands: an unreachable host fails at once with what to do instead", async () => {
  const dir = await Deno.makeTempDir();
  const started = performance.now();
  await assert.rejects(
    downloadSpeechCommands({
      dir,
      url: "http://download.invalid/x.tar.gz",
      connectTimeoutMs: 3000,
    }),
    (e: Error) => {
      assert.match(e.message, /Cannot download http:\/\/download\.invalid\/x\.tar\.gz/);
      assert.ok(e instanceof SpeechDataUnavailableError);
      assert.match(e.message, /needs internet access/);
      assert.match(e.message, /generateSyntheticSpeech\(\{ out: ".*" \}\)$/);
      return true;
    },
  );
  assert.ok(performance.now() - started < 5000, "took too long to fail");
  assert.deepEqual([...Deno.readDirSync(dir)], [], "left a partial archive behind");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("downloadSpeechCommands: a server that never answers times out", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const c of listener) conns.push(c);
    } catch { /* listener closed */ }
  })();
  const dir = await Deno.makeTempDir();
  const url = `http://127.0.0.1:${listener.addr.port}/speech.tar.gz`;
  await assert.rejects(
    downloadSpeechCommands({ dir, url, connectTimeoutMs: 300 }),
    /no answer within 300 ms/,
  );
  listener.close();
  await accepting;
  for (const c of conns) c.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("downloadSpeechCommands: fetches and unpacks an archive; HTTP errors are reported", async () => {
  // A tiny archive in the real one's layout (word folders at the top level).
  const src = await Deno.makeTempDir();
  await Deno.mkdir(join(src, "yes"));
  const wav = encodeWav(new Int16Array(16000));
  await Deno.writeFile(join(src, "yes", "a_nohash_0.wav"), wav);
  const tarball = join(await Deno.makeTempDir(), "sc.tar.gz");
  const tar = await new Deno.Command("tar", { args: ["-czf", tarball, "-C", src, "."] }).output();
  assert.ok(tar.success, "tar is needed for this test");
  const body = await Deno.readFile(tarball);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) =>
      new URL(req.url).pathname === "/sc.tar.gz"
        ? new Response(body, { headers: { "content-length": String(body.length) } })
        : new Response("nope", { status: 404 }),
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  const dir = await Deno.makeTempDir();
  const messages: string[] = [];
  await downloadSpeechCommands({ dir, url: `${base}/sc.tar.gz`, log: (m) => messages.push(m) });
  assert.deepEqual(await Deno.readFile(join(dir, "yes", "a_nohash_0.wav")), wav);
  assert.ok(messages.some((m) => m.startsWith("unpacking")));
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["yes"], "archive not removed");
  await assert.rejects(downloadSpeechCommands({ dir, url: `${base}/missing` }), /HTTP 404/);
  await server.shutdown();
  for (const d of [src, dir]) await Deno.remove(d, { recursive: true });
  await Deno.remove(tarball);
});

// ---------------------------------------------------------------------------------------------
// Loader on a hand-made set

/** Noise of standard deviation `0.002·2^label`: the clip's loudness encodes its class. */
function labelledNoise(label: number, seed: number, length = 16000): Int16Array {
  const rand = seededRandom(seed);
  const std = 0.002 * 2 ** label;
  return Int16Array.from(
    { length },
    () => Math.round((rand() - 0.5) * Math.sqrt(12) * std * 32767),
  );
}

async function makeHandSet(dir: string, perClass: number): Promise<void> {
  for (const [label, word] of WORDS.entries()) {
    await Deno.mkdir(join(dir, word), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      await Deno.writeFile(
        join(dir, word, `clip_${i}.wav`),
        encodeWav(labelledNoise(label, 100 * label + i)),
      );
    }
  }
  // Not one second long: dropped by the loader.
  await Deno.writeFile(join(dir, "yes", "short.wav"), encodeWav(labelledNoise(0, 1, 15999)));
  await Deno.writeFile(join(dir, "no", "long.wav"), encodeWav(labelledNoise(1, 2, 16001)));
  // Not one of the ten words: ignored.
  await Deno.mkdir(join(dir, "marvin"));
  await Deno.writeFile(join(dir, "marvin", "m.wav"), encodeWav(labelledNoise(0, 3)));
}

async function splitData(d: SpeechCommandsData): Promise<
  Record<"train" | "val" | "test", { X: Float32Array; y: Int32Array; n: number }>
> {
  const out = {} as Record<"train" | "val" | "test", { X: Float32Array; y: Int32Array; n: number }>;
  for (const s of ["train", "val", "test"] as const) {
    out[s] = {
      X: (await d[s].X.data()) as Float32Array,
      y: (await d[s].y.data()) as Int32Array,
      n: d[s].X.shape[0],
    };
  }
  return out;
}

Deno.test("loadSpeechCommands: shapes, labels, dropped clips, split, normalisation, time, cache", async () => {
  const dir = await Deno.makeTempDir();
  const cacheDir = await Deno.makeTempDir();
  const PER_CLASS = 4; // 40 clips: 28 / 6 / 6
  await makeHandSet(dir, PER_CLASS);
  const tensorsBefore = tf.memory().numTensors;

  let t0 = performance.now();
  const d = await loadSpeechCommands({ dir, cacheDir, seed: 0 });
  const firstMs = performance.now() - t0;
  assert.equal(d.fromCache, false);
  assert.deepEqual(d.classes, WORDS);
  assert.deepEqual([...SPEECH_COMMANDS_CLASSES], WORDS);
  assert.equal(d.dropped, 2, "the 15999- and 16001-sample clips are dropped");
  assert.deepEqual(d.droppedFiles, ["no/long.wav", "yes/short.wav"], "and named");
  assert.deepEqual(d.times, Array.from({ length: 161 }, (_, t) => t));
  const sizes = { train: 28, val: 6, test: 6 };
  const host = await splitData(d);
  for (const s of ["train", "val", "test"] as const) {
    assert.deepEqual(d[s].X.shape, [sizes[s], 161, 21]);
    assert.equal(d[s].X.dtype, "float32");
    assert.deepEqual(d[s].y.shape, [sizes[s]]);
    assert.equal(d[s].y.dtype, "int32");
    // Time channel: X[n, t, 0] = t exactly.
    const { X, n } = host[s];
    for (let i = 0; i < n; i++) {
      for (let t = 0; t < 161; t++) assert.equal(X[(i * 161 + t) * 21], t);
    }
    assert.ok(X.every(Number.isFinite));
  }
  // Stratified: 4 clips per class → 3 / 0–1 / 0–1 … with sklearn's totals; here every class
  // gets round(0.7·4) or so in train, and val/test together hold the rest of each class.
  for (let c = 0; c < 10; c++) {
    const count = (s: "train" | "val" | "test"): number => host[s].y.filter((v) => v === c).length;
    assert.ok(count("train") === 2 || count("train") === 3, `class ${c} train ${count("train")}`);
    assert.equal(count("train") + count("val") + count("test"), PER_CLASS);
  }
  // Labels follow the folders: undo the normalisation of c0 (mean log energy), whose
  // per-clip time average grows with the clip's noise level 0.002·2^label, so sorting clips by
  // it must sort their labels.
  const c0 = (X: Float32Array, i: number): number => {
    let s = 0;
    for (let t = 0; t < 161; t++) s += X[(i * 161 + t) * 21 + 1];
    return (s / 161) * (d.std[0] + 1e-5) + d.mean[0];
  };
  const clips: { e: number; y: number }[] = [];
  for (const s of ["train", "val", "test"] as const) {
    for (let i = 0; i < host[s].n; i++) clips.push({ e: c0(host[s].X, i), y: host[s].y[i] });
  }
  clips.sort((a, b) => a.e - b.e);
  for (let i = 1; i < clips.length; i++) assert.ok(clips[i].y >= clips[i - 1].y, "label order");
  // Normalised with the training statistics: per channel mean 0 and unbiased std 1 − 1e-5/std.
  for (let k = 1; k < 21; k++) {
    let sum = 0, sq = 0;
    const m = host.train.n * 161;
    for (let j = 0; j < m; j++) sum += host.train.X[j * 21 + k];
    const mean = sum / m;
    for (let j = 0; j < m; j++) sq += (host.train.X[j * 21 + k] - mean) ** 2;
    const std = Math.sqrt(sq / (m - 1));
    // float32 storage: ~1e-7 relative per value; float64 sums over 4508 values.
    assert.ok(Math.abs(mean) < 1e-5, `channel ${k} mean ${mean}`);
    assert.ok(
      Math.abs(std - d.std[k - 1] / (d.std[k - 1] + 1e-5)) < 1e-5,
      `channel ${k} std ${std}`,
    );
  }

  // Cache reuse: same settings → read from disk, identical data, much faster.
  t0 = performance.now();
  const again = await loadSpeechCommands({ dir, cacheDir, seed: 0 });
  const secondMs = performance.now() - t0;
  assert.equal(again.fromCache, true);
  assert.equal(again.key, d.key);
  assert.ok(secondMs < firstMs, `cached load ${secondMs} ms vs ${firstMs} ms`);
  const hostAgain = await splitData(again);
  for (const s of ["train", "val", "test"] as const) {
    assert.deepEqual(hostAgain[s].X, host[s].X);
    assert.deepEqual(hostAgain[s].y, host[s].y);
  }
  assert.deepEqual(
    [again.mean, again.std, again.dropped, again.droppedFiles],
    [d.mean, d.std, d.dropped, d.droppedFiles],
  );

  // Invalidation: another seed → another key, rebuilt, another split.
  const other = await loadSpeechCommands({ dir, cacheDir, seed: 1 });
  assert.equal(other.fromCache, false);
  assert.notEqual(other.key, d.key);
  assert.notDeepEqual((await splitData(other)).train.y, host.train.y);
  // …and a changed source listing (one more clip) is not served from the old entry either.
  await Deno.writeFile(join(dir, "go", "extra.wav"), encodeWav(labelledNoise(9, 77)));
  const grown = await loadSpeechCommands({ dir, cacheDir, seed: 0 });
  assert.equal(grown.fromCache, false);
  assert.equal(grown.train.X.shape[0] + grown.val.X.shape[0] + grown.test.X.shape[0], 41);
  assert.equal([...Deno.readDirSync(cacheDir)].length, 3, "one cache entry per settings key");

  tf.dispose([d, again, other, grown].flatMap((x) => [x.train, x.val, x.test]));
  assert.equal(tf.memory().numTensors, tensorsBefore, "leaked tensors");
  for (const p of [dir, cacheDir]) await Deno.remove(p, { recursive: true });
});

Deno.test("loadSpeechCommands: a folder without the word folders fails with what to do", async () => {
  const dir = await Deno.makeTempDir();
  await assert.rejects(
    loadSpeechCommands({ dir, cacheDir: null }),
    (e: Error) => {
      assert.ok(e instanceof SpeechDataUnavailableError);
      assert.match(e.message, /yes not found/);
      // The library names its own options; command lines rephrase (tests of data_main.ts).
      assert.match(e.message, /Pass `download: true` \(loadSpeechCommands\)/);
      assert.match(e.message, /generateSyntheticSpeech\(\{ out: ".*" \}\)$/);
      assert.doesNotMatch(e.message, /--download/);
      return true;
    },
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadSpeechCommands: a damaged cache entry is reported with its path and rebuilt", async () => {
  const dir = await Deno.makeTempDir();
  const cacheDir = await Deno.makeTempDir();
  await makeHandSet(dir, 2);
  const warnings: string[] = [];
  const load = () => loadSpeechCommands({ dir, cacheDir, seed: 0, warn: (m) => warnings.push(m) });
  const first = await load();
  const host = await splitData(first);
  const entry = first.cachePath!;
  assert.deepEqual(
    [...Deno.readDirSync(entry)].map((e) => e.name).sort(),
    [
      "manifest.json",
      "test_X.f32",
      "test_y.i32",
      "train_X.f32",
      "train_y.i32",
      "val_X.f32",
      "val_y.i32",
    ],
  );
  const damages: [string, () => Promise<void>, RegExp][] = [
    ["labels set to 99", async () => {
      const y = new Int32Array(host.train.n).fill(99);
      await Deno.writeFile(join(entry, "train_y.i32"), new Uint8Array(y.buffer));
    }, /train_y\.i32 does not match its SHA-256/],
    ["50 flipped bytes", async () => {
      const bytes = await Deno.readFile(join(entry, "val_X.f32"));
      for (let i = 0; i < 50; i++) bytes[100 + 7 * i] ^= 0x5a;
      await Deno.writeFile(join(entry, "val_X.f32"), bytes);
    }, /val_X\.f32 does not match its SHA-256/],
    [
      "a truncated file",
      () => Deno.truncate(join(entry, "test_X.f32"), 1000),
      /test_X\.f32 has 1000 bytes/,
    ],
    [
      "an emptied manifest",
      () => Deno.writeTextFile(join(entry, "manifest.json"), ""),
      /not valid JSON/,
    ],
  ];
  // Damage a writer with a bug could do: consistent hashes, wrong contents. Caught by the
  // value checks (labels in 0…9, finite features) and the metadata checks.
  const rewrite = async (
    change: (meta: Record<string, unknown>, files: Record<string, Uint8Array>) => void,
  ) => {
    const { key, meta } = JSON.parse(await Deno.readTextFile(join(entry, "manifest.json")));
    const files: Record<string, Uint8Array> = {};
    for (const e of Deno.readDirSync(entry)) {
      if (e.name !== "manifest.json") files[e.name] = await Deno.readFile(join(entry, e.name));
    }
    change(meta, files);
    await writeCacheEntry(entry, key, { meta, files });
  };
  damages.push(
    ["labels 99 with matching hashes", () =>
      rewrite((_, files) => {
        files["train_y.i32"] = new Uint8Array(new Int32Array(host.train.n).fill(99).buffer);
      }), /train_y\.i32 holds label 99 at 0, not in 0…9/],
    ["a NaN feature with matching hashes", () =>
      rewrite((_, files) => {
        const X = new Float32Array(files["val_X.f32"].slice().buffer);
        X[1234] = NaN;
        files["val_X.f32"] = new Uint8Array(X.buffer);
      }), /val_X\.f32 holds NaN at 1234/],
    [
      "metadata of 100 classes with matching hashes",
      () =>
        rewrite((meta) => {
          meta.classes = Array.from({ length: 100 }, (_, i) => `w${i}`);
        }),
      /its classes are not yes, no, up, down, left, right, on, off, stop, go \(it lists 100: w0, w1, w2, …\)/,
    ],
    ["an edited normalisation in the manifest", async () => {
      const path = join(entry, "manifest.json");
      const m = JSON.parse(await Deno.readTextFile(path));
      m.meta.mean[0] += 1;
      await Deno.writeTextFile(path, JSON.stringify(m));
    }, /manifest\.json's meta does not match its SHA-256/],
  );
  for (const [what, damage, reason] of damages) {
    await damage();
    const d = await load();
    assert.equal(d.fromCache, false, what);
    assert.equal(warnings.length, 1, what);
    assert.ok(warnings[0].startsWith(`cache entry ${entry} is unusable: `), warnings[0]);
    assert.match(warnings[0], reason);
    const rebuilt = await splitData(d);
    for (const s of ["train", "val", "test"] as const) {
      assert.deepEqual(rebuilt[s].X, host[s].X, `${what}: ${s} X`);
      assert.deepEqual(rebuilt[s].y, host[s].y, `${what}: ${s} y`);
    }
    const again = await load();
    assert.equal(again.fromCache, true, `${what}: the rebuilt entry is used`);
    warnings.length = 0;
    tf.dispose([d, again].flatMap((x) => [x.train, x.val, x.test]));
  }
  // A write killed half-way (its temporary folder, of a process that is gone) is swept at the
  // next load, in one line; the entry itself is still used.
  const leftover = `${entry.split("/").at(-1)}.tmp-999999999-x1`;
  await Deno.mkdir(join(cacheDir, leftover));
  await Deno.writeFile(join(cacheDir, leftover, "train_X.f32"), new Uint8Array(10));
  const swept = await load();
  assert.equal(swept.fromCache, true);
  assert.deepEqual(warnings, [
    `removed 1 unfinished cache write (interrupted) in ${cacheDir}: ${leftover}`,
  ]);
  assert.deepEqual([...Deno.readDirSync(cacheDir)].map((e) => e.name), [entry.split("/").at(-1)]);
  tf.dispose([first, swept].flatMap((x) => [x.train, x.val, x.test]));
  for (const p of [dir, cacheDir]) await Deno.remove(p, { recursive: true });
});

Deno.test("loadSpeechCommands: the cache key is the WAV bytes, not their names and sizes", async () => {
  const dir = await Deno.makeTempDir();
  const cacheDir = await Deno.makeTempDir();
  try {
    await makeHandSet(dir, 2);
    const warnings: string[] = [];
    const load = () => loadSpeechCommands({ dir, cacheDir, warn: (m) => warnings.push(m) });
    const first = await load();
    // Every clip's samples zeroed, at the same size (and the same names): another key, so the
    // old features are not served; the new ones are those of silence.
    for (const word of WORDS) {
      for (const e of Deno.readDirSync(join(dir, word))) {
        const path = join(dir, word, e.name);
        const bytes = await Deno.readFile(path);
        bytes.fill(0, 44);
        await Deno.writeFile(path, bytes);
      }
    }
    const zeroed = await load();
    assert.equal(zeroed.fromCache, false);
    assert.notEqual(zeroed.key, first.key);
    assert.notEqual(zeroed.cachePath, first.cachePath);
    // Silence: every clip's c0 (the mean log energy) is the same, so normalised it is 0 (the
    // training std is 0, and (x − mean)/(0 + 1e-5) = 0 exactly for equal values).
    const X = (await zeroed.train.X.data()) as Float32Array;
    for (let j = 0; j < X.length; j += 21) assert.equal(X[j + 1], 0);
    assert.equal(warnings.length, 0, "a new key is not a damaged entry");
    // The entry of the old bytes stays where it was (another key, another folder).
    assert.equal([...Deno.readDirSync(cacheDir)].length, 2);
    tf.dispose([first, zeroed].flatMap((x) => [x.train, x.val, x.test]));
  } finally {
    for (const p of [dir, cacheDir]) await Deno.remove(p, { recursive: true });
  }
});

Deno.test("loadSpeechCommands: a truncated WAV, a word that is a file, a data folder that is a file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await makeHandSet(dir, 2);
    // A WAV cut off (a broken copy): an error naming it, not a silently dropped clip.
    const clip = join(dir, "up", "clip_1.wav");
    const bytes = await Deno.readFile(clip);
    await Deno.writeFile(clip, bytes.subarray(0, 44 + 20000));
    await assert.rejects(
      loadSpeechCommands({ dir, cacheDir: null }),
      new RegExp(
        `^Error: ${clip.replaceAll("/", "\\/")} is truncated: its header declares 16000 ` +
          `samples, the file holds 10000; fetch it again or delete it$`,
      ),
    );
    await Deno.writeFile(clip, bytes);
    // A word's entry that is a file: named, not "Not a directory (os error 20)".
    await Deno.remove(join(dir, "stop"), { recursive: true });
    await Deno.writeTextFile(join(dir, "stop"), "not a folder");
    await assert.rejects(
      loadSpeechCommands({ dir, cacheDir: null }),
      (e: Error) => {
        assert.match(e.message, new RegExp(`^${join(dir, "stop")} is a file, not a folder: `));
        assert.doesNotMatch(e.message, /os error/);
        return true;
      },
    );
    // The data folder itself a file.
    const file = join(dir, "yes", "clip_0.wav");
    await assert.rejects(
      loadSpeechCommands({ dir: file, cacheDir: null }),
      (e: Error) =>
        e.message.startsWith(`${file} is a file, not a folder: give the folder that holds`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
