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

function offlineHelp(url: string, dir: string): string {
  return `The Speech Commands download needs internet access to ${new URL(url).host}. ` +
    `On a machine without it, fetch ${url} elsewhere and unpack it into ${dir} ` +
    `(tar -xzf speech_commands_v0.02.tar.gz -C ${dir}), or generate a synthetic set in the ` +
    `same layout with espeak-ng (models/cde/synthetic_speech.ts): ` +
    `deno task speech-data synthetic --out ${dir}`;
}

/**
 * Downloads the Speech Commands v0.02 archive and unpacks it into `dir` (with the system's
 * `tar`), so that `dir/yes/…wav` etc. exist. Without a network it fails at once (DNS or
 * connection error) or after `connectTimeoutMs`, with a message saying what to do instead.
 *
 * @example Offline (a host that cannot resolve) fails fast with a clear message
 * ```ts
 * import assert from "node:assert/strict";
 * import { downloadSpeechCommands } from "./download.ts";
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
