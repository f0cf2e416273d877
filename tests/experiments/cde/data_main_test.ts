import assert from "node:assert/strict";
import {
  parsePrepareArgs,
  parseSyntheticSpeechArgs,
  PREPARE_USAGE,
  SPEECH_DATA_USAGE,
  speechDataMain,
  SYNTHETIC_USAGE,
} from "../../../experiments/cde/data_main.ts";

Deno.test("parseSyntheticSpeechArgs: defaults, and unknown flags are errors", () => {
  assert.deepEqual(parseSyntheticSpeechArgs(["--out", "d"]), {
    help: false,
    options: { out: "d", count: 3000, seed: 0, concurrency: 2 },
  });
  assert.deepEqual(parseSyntheticSpeechArgs(["--help"]), { help: true });
  assert.throws(() => parseSyntheticSpeechArgs(["--out", "d", "--speed", "2"]), /speed/);
  assert.throws(() => parseSyntheticSpeechArgs(["--out", "d", "extra"]), /extra|positional/i);
  assert.throws(() => parseSyntheticSpeechArgs(["--count", "5"]), /--out is required/);
  assert.throws(() => parseSyntheticSpeechArgs(["--out", "d", "--count", "1e9x"]), /--count/);
  assert.throws(() => parseSyntheticSpeechArgs(["--out", "d", "--count", "9"]), />= 10/);
});

Deno.test("parsePrepareArgs: defaults, flags, and errors", () => {
  assert.deepEqual(parsePrepareArgs(["--dir", "d"]), {
    help: false,
    options: { dir: "d", download: false, cacheDir: undefined, seed: 0, backend: "wasm" },
  });
  assert.deepEqual(
    parsePrepareArgs([
      "--dir",
      "d",
      "--download",
      "--cache-dir",
      "c",
      "--seed",
      "3",
      "--backend",
      "cpu",
    ]),
    { help: false, options: { dir: "d", download: true, cacheDir: "c", seed: 3, backend: "cpu" } },
  );
  assert.deepEqual(parsePrepareArgs(["--help"]), { help: true });
  assert.throws(() => parsePrepareArgs([]), /--dir is required/);
  assert.throws(
    () => parsePrepareArgs(["--dir", "d", "--seed", "1.5"]),
    /--seed must be an integer/,
  );
  assert.throws(() => parsePrepareArgs(["--dir", "d", "--backend", "webgpu"]), /wasm, cpu/);
  assert.throws(() => parsePrepareArgs(["--dir", "d", "--out", "x"]), /unknown flag --out/);
});

Deno.test("speechDataMain: commands, help and usage errors", async () => {
  const logged: string[] = [], errors: string[] = [];
  const { log, error } = console;
  console.log = (m: string) => logged.push(m);
  console.error = (m: string) => errors.push(m);
  try {
    assert.equal(await speechDataMain(["--help"]), 0);
    assert.equal(await speechDataMain([]), 2);
    assert.equal(await speechDataMain(["speak"]), 2);
    assert.equal(await speechDataMain(["synthetic", "--help"]), 0);
    assert.equal(await speechDataMain(["prepare", "--help"]), 0);
    assert.equal(await speechDataMain(["synthetic", "--count", "5"]), 2);
    assert.equal(await speechDataMain(["prepare", "--dir", "d", "--seed", "x"]), 2);
  } finally {
    console.log = log;
    console.error = error;
  }
  assert.deepEqual(logged, [SPEECH_DATA_USAGE, SPEECH_DATA_USAGE, SYNTHETIC_USAGE, PREPARE_USAGE]);
  assert.match(errors[0], /unknown command "speak"/);
  assert.match(errors[1], /--out is required/);
  assert.match(errors[2], /--seed must be an integer/);
});

Deno.test("speechDataMain prepare: a folder without the word folders fails, naming --download", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // The message names this command line's flags, not the library's options.
    await assert.rejects(
      speechDataMain(["prepare", "--dir", dir, "--backend", "cpu"]),
      (e: Error) => {
        assert.match(e.message, /yes not found/);
        assert.match(e.message, /Pass --download on a machine with internet/);
        assert.match(e.message, new RegExp(`deno task speech-data synthetic --out ${dir}$`));
        assert.doesNotMatch(e.message, /download: true|generateSyntheticSpeech/);
        return true;
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
