/**
 * The download of Speech Commands v0.02 (about 2.3 GB), unpacked with the system's `tar`, with
 * timeouts and a message saying what to do on a machine without internet.
 *
 * @module
 */
import { join } from "node:path";

/** Where the Speech Commands v0.02 archive (about 2.3 GB) is downloaded from. */
export const SPEECH_COMMANDS_URL =
  "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz";

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

/** How a caller names the two ways of getting the data, for
 * {@linkcode SpeechDataUnavailableError.explain}: the library names its options, a command line
 * its flags. */
export interface SpeechDataRemedies {
  /** How to ask for the download, e.g. `` `download: true` `` or `--download`. */
  download: string;
  /** How to write a synthetic set into `dir`, e.g. `` generateSyntheticSpeech({ out }) ``. */
  synthetic: (dir: string) => string;
}

/** The library's names: the options of `loadSpeechCommands` and `generateSyntheticSpeech`. */
const LIBRARY_REMEDIES: SpeechDataRemedies = {
  download: "`download: true` (loadSpeechCommands)",
  synthetic: (dir) => `generateSyntheticSpeech({ out: ${JSON.stringify(dir)} })`,
};

/**
 * Speech Commands is not in `dir` and could not be fetched: the word folders are missing
 * (`download` was not asked for), or the download could not reach the server. The message
 * says what to do in the library's terms (its options); a command line rephrases it with its
 * own flags through {@linkcode SpeechDataUnavailableError.explain}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SpeechDataUnavailableError } from "@fasterode/fasterode/models/cde";
 *
 * const e = new SpeechDataUnavailableError("data/sc", "data/sc/yes not found", "folders");
 * assert.match(e.message, /data\/sc\/yes not found\. Pass `download: true`/);
 * const cli = e.explain({ download: "--download", synthetic: (d) => `speech-data --out ${d}` });
 * assert.match(cli, /Pass --download .* speech-data --out data\/sc$/);
 * ```
 */
export class SpeechDataUnavailableError extends Error {
  /** The folder that should hold the word folders. */
  readonly dir: string;
  /** What is wrong, without the remedy (e.g. `DIR/yes not found: …`). */
  readonly problem: string;
  /** `"folders"`: the word folders are missing; `"offline"`: the download could not connect. */
  readonly kind: "folders" | "offline";
  /** The archive's URL (for `"offline"`). */
  readonly url: string;

  /**
   * An error whose message names the library's options as the remedies.
   *
   * @param dir The data folder.
   * @param problem What is wrong.
   * @param kind Missing folders, or an unreachable server.
   * @param url The archive's URL.
   */
  constructor(
    dir: string,
    problem: string,
    kind: "folders" | "offline",
    url: string = SPEECH_COMMANDS_URL,
  ) {
    super(problem);
    this.name = "SpeechDataUnavailableError";
    this.dir = dir;
    this.problem = problem;
    this.kind = kind;
    this.url = url;
    this.message = this.explain(LIBRARY_REMEDIES);
  }

  /**
   * The message with the caller's names for the remedies (a command line's flags).
   *
   * @param remedies How to ask for the download and for a synthetic set.
   * @returns One paragraph: the problem, then what to do.
   */
  explain(remedies: SpeechDataRemedies): string {
    const synthetic = `write a synthetic set in the same layout with espeak-ng: ` +
      remedies.synthetic(this.dir);
    if (this.kind === "folders") {
      return `${this.problem}. Pass ${remedies.download} on a machine with internet, or ` +
        synthetic;
    }
    return `${this.problem}. The Speech Commands download needs internet access to ` +
      `${new URL(this.url).host}. On a machine without it, fetch ${this.url} elsewhere and ` +
      `unpack it into ${this.dir} (tar -xzf speech_commands_v0.02.tar.gz -C ${this.dir}), or ` +
      synthetic;
  }
}

/**
 * Downloads the Speech Commands v0.02 archive and unpacks it into `dir` (with the system's
 * `tar`), so that `dir/yes/…wav` etc. exist. Without a network it fails at once (DNS or
 * connection error) or after `connectTimeoutMs`, with a message saying what to do instead.
 *
 * @example Offline (a host that cannot resolve) fails fast with a clear message
 * ```ts
 * import assert from "node:assert/strict";
 * import { downloadSpeechCommands } from "@fasterode/fasterode/models/cde";
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
 * @throws {SpeechDataUnavailableError} If the server cannot be reached (with what to do offline).
 * @throws {Error} If the server answers with an error status, stalls, or `tar` fails; the
 *   archive is then removed.
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
    throw new SpeechDataUnavailableError(dir, `Cannot download ${url}: ${cause}`, "offline", url);
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
