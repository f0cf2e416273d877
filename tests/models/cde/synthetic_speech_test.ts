// The synthetic Speech Commands set: the resampler, the clip recipes, the espeak-ng generator end
// to end, and a set kept as a checked cache entry (reused, or made again when damaged). The
// espeak-ng tests are skipped without espeak-ng, except under CI=true where it must be installed.

import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../../mod.ts";
import {
  clipRecipe,
  composeClip,
  decodeWav,
  ensureSyntheticSpeech,
  espeakAvailable,
  generateSyntheticSpeech,
  loadSpeechCommands,
  resample,
  SPEECH_COMMANDS_CLASSES,
} from "../../../models/cde/mod.ts";

await useBackend("cpu");

const CI = Deno.env.get("CI") === "true";
const HAVE_ESPEAK = await espeakAvailable();
if (!HAVE_ESPEAK && !CI) {
  console.warn(
    "synthetic_speech_test: espeak-ng is not installed; skipping the synthetic speech tests " +
      "(apt-get install espeak-ng to run them)",
  );
}

const WORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"];

// ---------------------------------------------------------------------------------------------
// Synthetic speech: pure parts

Deno.test("resample: keeps a tone below 7.6 kHz, removes one above 8 kHz", () => {
  const tone = (f: number, rate: number, n: number): Float32Array =>
    Float32Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * f * i) / rate));
  const low = resample(tone(3000, 22050, 22050), 22050, 16000);
  assert.equal(low.length, 16000);
  let err = 0;
  // Away from the edges (zero-padded, 24 input samples of filter each side).
  for (let n = 50; n < 15950; n++) {
    err = Math.max(err, Math.abs(low[n] - Math.sin((2 * Math.PI * 3000 * n) / 16000)));
  }
  // Passband ripple of a Hann-windowed sinc with 16 zero crossings is ~1e-4 at 3 kHz.
  assert.ok(err < 2e-3, `3 kHz error ${err}`);
  // 10 kHz cannot exist at 16 kHz: the low-pass (stopband from ~8.5 kHz) must remove it
  // rather than alias it to 6 kHz. A Hann window gives ≳ 40 dB attenuation there.
  const high = resample(tone(10000, 22050, 22050), 22050, 16000);
  let peak = 0;
  for (let n = 50; n < 15950; n++) peak = Math.max(peak, Math.abs(high[n]));
  assert.ok(peak < 0.01, `10 kHz leaks with amplitude ${peak}`);
  assert.deepEqual(resample(Float32Array.of(1, 2, 3), 16000, 16000), Float32Array.of(1, 2, 3));
  assert.throws(() => resample(low, 22050.5, 16000), /positive integer/);
});

Deno.test("clipRecipe/composeClip: deterministic, one second, word placed and scaled", () => {
  const r = clipRecipe(7, 42);
  assert.deepEqual(clipRecipe(7, 42), r);
  assert.equal(r.label, 2);
  assert.equal(r.word, "up");
  assert.match(r.voice, /^en[-a-z0-9]*\+[mf]\d$/);
  // Labels cycle through the words, so any 10 consecutive clips hold every word once.
  assert.deepEqual(
    Array.from({ length: 10 }, (_, i) => clipRecipe(7, 30 + i).label).sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  // A 0.3 s burst with silence around it: trimmed, scaled to the recipe's peak, placed.
  const speech = new Float32Array(12000);
  for (let i = 3000; i < 7800; i++) speech[i] = 0.2 * Math.sin(i / 3);
  const quiet = { ...r, noiseStd: 0 };
  const clip = composeClip(speech, quiet);
  assert.equal(clip.length, 16000);
  let peak = 0, first = -1;
  clip.forEach((v, i) => {
    peak = Math.max(peak, Math.abs(v));
    if (first < 0 && v !== 0) first = i;
  });
  assert.ok(Math.abs(peak / 32767 - r.peak) < 1e-3);
  // Trimmed to 4800 + 2·160 samples, placed at offset·(16000 − 5120 + 1) (+160 of margin).
  assert.ok(Math.abs(first - (Math.floor(r.offset * (16000 - 5120 + 1)) + 160)) <= 1);
  assert.deepEqual(composeClip(speech, r), composeClip(speech, r), "noise is seeded");
});

// ---------------------------------------------------------------------------------------------
// Synthetic speech with espeak-ng

Deno.test({
  name: "generateSyntheticSpeech: 60 espeak-ng clips load as a Speech Commands set",
  ignore: !HAVE_ESPEAK && !CI,
  async fn() {
    if (!HAVE_ESPEAK) {
      throw new Error("espeak-ng is required under CI=true: install the Debian package espeak-ng");
    }
    const dir = await Deno.makeTempDir();
    let calls = 0;
    const result = await generateSyntheticSpeech({
      out: dir,
      count: 60,
      seed: 5,
      onProgress: (done, total) => {
        calls++;
        assert.equal(total, 60);
        assert.ok(done >= 1 && done <= 60);
      },
    });
    assert.equal(calls, 60);
    assert.deepEqual(result.perClass, Array(10).fill(6));
    for (const word of WORDS) {
      const names = [...Deno.readDirSync(join(dir, word))].map((e) => e.name);
      assert.equal(names.length, 6, word);
      for (const name of names) {
        const clip = decodeWav(await Deno.readFile(join(dir, word, name)));
        assert.equal(clip.sampleRate, 16000);
        assert.equal(clip.samples.length, 16000);
      }
    }
    // The same seed gives the same bytes (first ten clips into another folder).
    const dir2 = await Deno.makeTempDir();
    const again = await generateSyntheticSpeech({ out: dir2, count: 10, seed: 5, concurrency: 1 });
    for (const rel of again.files) {
      assert.deepEqual(await Deno.readFile(join(dir2, rel)), await Deno.readFile(join(dir, rel)));
    }
    // Speech is there: every clip's loudest 100 ms are well above its quietest 100 ms.
    for (const rel of result.files.slice(0, 10)) {
      const x = decodeWav(await Deno.readFile(join(dir, rel))).samples;
      const rms: number[] = [];
      for (let s = 0; s < 16000; s += 1600) {
        let e = 0;
        for (let t = s; t < s + 1600; t++) e += x[t] * x[t];
        rms.push(Math.sqrt(e / 1600));
      }
      assert.ok(Math.max(...rms) > 3 * Math.min(...rms), `${rel}: no word above the noise`);
    }

    const before = tf.memory().numTensors;
    const data = await loadSpeechCommands({ dir, cacheDir: null, seed: 0 });
    assert.deepEqual(data.train.X.shape, [42, 161, 21]);
    assert.deepEqual(data.val.X.shape, [9, 161, 21]);
    assert.deepEqual(data.test.X.shape, [9, 161, 21]);
    assert.equal(data.dropped, 0);
    const y = await data.train.y.data();
    for (let c = 0; c < 10; c++) assert.ok(y.filter((v) => v === c).length >= 4, `class ${c}`);
    assert.ok((await data.train.X.data()).every(Number.isFinite));
    tf.dispose([data.train, data.val, data.test]);
    assert.equal(tf.memory().numTensors, before);
    for (const p of [dir, dir2]) await Deno.remove(p, { recursive: true });
  },
});

Deno.test({
  name: "ensureSyntheticSpeech: made once, reused when intact, made again when damaged",
  ignore: !HAVE_ESPEAK && !CI,
  async fn() {
    if (!HAVE_ESPEAK) {
      throw new Error("espeak-ng is required under CI=true: install the Debian package espeak-ng");
    }
    const dataDir = await Deno.makeTempDir();
    const warnings: string[] = [];
    const ensure = () =>
      ensureSyntheticSpeech({ count: 20, seed: 0, dataDir, warn: (m) => warnings.push(m) });
    try {
      const made = await ensure();
      assert.equal(made.dir, join(dataDir, "synthetic-20-0"));
      assert.equal(made.generated, true);
      assert.ok(made.seconds > 0);
      for (const word of SPEECH_COMMANDS_CLASSES) {
        const files = [...Deno.readDirSync(join(made.dir, word))].map((e) => e.name);
        assert.equal(files.length, 2, word);
      }
      // Nothing else is left in dataDir (no temporary folder).
      assert.deepEqual([...Deno.readDirSync(dataDir)].map((e) => e.name), ["synthetic-20-0"]);
      const reused = await ensure();
      assert.deepEqual(reused, { dir: made.dir, generated: false, seconds: 0 });
      assert.equal(warnings.length, 0);
      // Every WAV's samples zeroed at the same size: detected, reported, made again.
      const clip = join(made.dir, "yes", "synth_s0_00000.wav");
      const original = await Deno.readFile(clip);
      const zeroed = original.slice();
      zeroed.fill(0, 44);
      await Deno.writeFile(clip, zeroed);
      const remade = await ensure();
      assert.equal(remade.generated, true);
      assert.equal(warnings.length, 1);
      assert.match(
        warnings[0],
        /synthetic-20-0 is unusable: yes\/synth_s0_00000\.wav does not match/,
      );
      assert.deepEqual(await Deno.readFile(clip), original, "the same clip is made again");
      // A clip added beside the listed ones (it would be trained on): detected, made again.
      await Deno.writeFile(join(made.dir, "go", "extra.wav"), original);
      assert.equal((await ensure()).generated, true);
      assert.match(
        warnings.at(-1)!,
        /synthetic-20-0 is unusable: go\/ holds 3 \.wav files, the set has 2/,
      );
      assert.deepEqual(
        [...Deno.readDirSync(join(made.dir, "go"))].map((e) => e.name).sort(),
        ["synth_s0_00009.wav", "synth_s0_00019.wav"],
      );
      warnings.splice(1);
      // A folder of the old marker scheme (or an interrupted generation) is not trusted either.
      await Deno.remove(join(made.dir, "manifest.json"));
      await Deno.writeTextFile(
        join(made.dir, "synthetic.json"),
        JSON.stringify({ count: 20, seed: 0 }),
      );
      assert.equal((await ensure()).generated, true);
      assert.match(warnings[1], /no manifest\.json \(an unfinished or older entry\)/);
      assert.deepEqual(await ensure(), { dir: made.dir, generated: false, seconds: 0 });
      await assert.rejects(
        ensureSyntheticSpeech({ count: 5, dataDir }),
        /count must be an integer >= 10, got 5/,
      );
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test("ensureSyntheticSpeech: a missing espeak-ng fails with what to install, leaving nothing", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      ensureSyntheticSpeech({ count: 10, dataDir, espeak: "no-such-espeak-ng" }),
      /no-such-espeak-ng not found: .*apt-get install espeak-ng/,
    );
    assert.deepEqual([...Deno.readDirSync(dataDir)], []);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("generateSyntheticSpeech: a missing --allow-run is reported as such, not as a missing espeak-ng", async () => {
  // A child Deno without the run permission (everything else it needs is allowed).
  const dir = await Deno.makeTempDir();
  try {
    const module = new URL("../../../models/cde/synthetic_speech.ts", import.meta.url).href;
    const script = join(dir, "no_run.ts");
    await Deno.writeTextFile(
      script,
      `import { espeakAvailable, generateSyntheticSpeech } from ${JSON.stringify(module)};\n` +
        `console.log("available", await espeakAvailable());\n` +
        `await generateSyntheticSpeech({ out: ${JSON.stringify(join(dir, "out"))}, count: 10 });\n`,
    );
    const config = new URL("../../../deno.json", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        config,
        "--no-prompt",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-sys",
        script,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.success, false, stdout + stderr);
    assert.match(stdout, /available false/);
    assert.match(
      stderr,
      /espeak-ng cannot be run: this Deno process lacks the run permission for it; run deno with --allow-run=espeak-ng \(or -A\)/,
    );
    assert.doesNotMatch(stderr, /not found|apt-get/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
