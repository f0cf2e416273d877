/**
 * The WAV codec of the Speech Commands data: 16-bit PCM mono files, parsed and written with the
 * `wavefile` package.
 *
 * @module
 */
import wavefile from "wavefile";

/** The samples of a 16-bit PCM mono WAV file. */
export interface WavClip {
  /** Sample rate in Hz, from the header. */
  sampleRate: number;
  /** The samples as signed 16-bit integers. */
  samples: Int16Array;
  /** Samples the header's `data` chunk declares. More than `samples.length` means the file
   * is cut off (a truncated copy), or a stream whose header leaves the size open (espeak-ng's
   * `--stdout` declares about 2³⁰ samples). */
  declaredSamples: number;
}

/**
 * Decodes a 16-bit PCM mono WAV file (parsed with the `wavefile` package).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeWav, encodeWav } from "@fasterode/fasterode/models/cde";
 *
 * const clip = decodeWav(encodeWav(Int16Array.from([0, 1, -32768, 32767]), 16000));
 * assert.equal(clip.sampleRate, 16000);
 * assert.deepEqual(Array.from(clip.samples), [0, 1, -32768, 32767]);
 * assert.equal(clip.declaredSamples, 4);
 * const cut = decodeWav(encodeWav(new Int16Array(100)).subarray(0, 44 + 60)); // truncated
 * assert.deepEqual([cut.samples.length, cut.declaredSamples], [30, 100]);
 * assert.throws(() => decodeWav(new Uint8Array(10), "x.wav"), /x\.wav: not a WAV file/);
 * ```
 *
 * @param bytes The file's bytes.
 * @param name Named in error messages (e.g. the path).
 * @returns The sample rate, the samples, and how many the header declares (a file cut off
 *   short gives the samples it holds: compare with `declaredSamples`).
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
  const data = wav.data as { samples: Uint8Array; chunkSize: number };
  const raw = data.samples;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const samples = new Int16Array(raw.byteLength >> 1);
  for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(2 * i, true);
  return { sampleRate: fmt.sampleRate, samples, declaredSamples: Math.floor(data.chunkSize / 2) };
}

/**
 * Encodes samples as a 16-bit PCM mono WAV file (the Speech Commands format).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeWav } from "@fasterode/fasterode/models/cde";
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
export function encodeWav(samples: Int16Array, sampleRate: number = 16000): Uint8Array {
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, sampleRate, "16", samples);
  return wav.toBuffer();
}
