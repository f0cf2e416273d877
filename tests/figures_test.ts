/**
 * The notebooks' figures draw in a browser: every notebook is executed headless, exported to HTML
 * with `jupyter nbconvert --to html`, and loaded in headless Chromium without network access,
 * where every Plotly figure must draw all of its traces (see notebooks/figures.ts). The stored
 * outputs of each notebook (what a reader of the repository sees) are checked the same way.
 *
 * Needs Jupyter's nbconvert and Chromium (Debian: `apt-get install -y --no-install-recommends
 * chromium jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel`). Without them the
 * test is ignored on a developer machine and fails under CI (`CI=true`).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  executeNotebook,
  exportHtml,
  FigureBrowser,
  INSTALL_HINT,
  listNotebooks,
  missingTools,
  NOTEBOOKS_DIR,
  type PageReport,
  problems,
  storedOutputs,
} from "../notebooks/figures.ts";

const ci = ["true", "1", "yes"].includes((Deno.env.get("CI") ?? "").toLowerCase());
const missing = missingTools();
const notebooks = listNotebooks();
if (missing && !ci) {
  console.warn(
    `figures_test: ignoring the figures of ${notebooks.length} notebook(s): ${missing}; to ` +
      `check them, ${INSTALL_HINT}`,
  );
}

/** Asserts that the page drew as many figures as the notebook has, each with all its traces. */
function assertDrawn(what: string, report: PageReport, figures: number): void {
  const found = problems(report);
  assert.deepEqual(found, [], `${what}:\n${found.join("\n")}`);
  assert.equal(
    report.figures.length,
    figures,
    `${what}: ${figures} figure outputs in the notebook, ${report.figures.length} on the page`,
  );
}

Deno.test({
  name: "every notebook's figures draw all their traces in headless Chromium",
  ignore: missing !== undefined && !ci,
  // One Chromium serves every step; it is started and stopped in this test.
  async fn(t) {
    if (missing) throw new Error(`${missing} (CI=true requires it); ${INSTALL_HINT}`);
    const work = await Deno.makeTempDir({ prefix: "fasterode_figures_test_" });
    const browser = await FigureBrowser.launch();
    let keep = false;
    try {
      for (const name of notebooks) {
        const path = join(NOTEBOOKS_DIR, name);

        const fresh = await t.step(`${name}, executed now`, async () => {
          const executed = await executeNotebook(path, join(work, "executed"));
          const { figures } = await storedOutputs(executed);
          const html = await exportHtml(executed, join(work, "html"));
          assertDrawn(`${name} (executed)`, await browser.check(html), figures);
        });

        const stored = await storedOutputs(path);
        const kept = await t.step({
          name: `${name}, as stored`,
          ignore: stored.outputs === 0,
          fn: async () => {
            const html = await exportHtml(path, join(work, "stored"));
            assertDrawn(`${name} (stored outputs)`, await browser.check(html), stored.figures);
          },
        });
        if (stored.outputs === 0) {
          console.warn(
            `figures_test: ${name} has no stored outputs; store them with ` +
              `"deno task figures --save-notebooks ${name}"`,
          );
        }
        if (!fresh || (!kept && stored.outputs > 0)) keep = true;
      }
    } finally {
      await browser.close();
      if (keep) console.error(`figures_test: files kept in ${work}`);
      else await Deno.remove(work, { recursive: true });
    }
  },
});

Deno.test({
  name: "the render check reports a missing trace and a figure without plotly.js",
  ignore: missing !== undefined && !ci,
  async fn() {
    if (missing) throw new Error(`${missing} (CI=true requires it); ${INSTALL_HINT}`);
    const { plot } = await import("../notebooks/plot.ts");
    const good = plot({
      data: [{ x: [0, 1, 2], y: [0, 1, 4], type: "scatter", name: "squares" }],
      layout: { title: { text: "good" } },
    }, { includePlotlyJs: true });
    const partial = plot({
      data: [
        { x: ["a", "b"], y: [1, 2], type: "bar", name: "bars" },
        { x: [], y: [], type: "scatter", name: "nothing" },
      ],
      layout: { title: { text: "partial" } },
    }, { includePlotlyJs: false });
    const dir = await Deno.makeTempDir({ prefix: "fasterode_figures_check_" });
    const browser = await FigureBrowser.launch();
    try {
      const page = (...figures: typeof good[]) =>
        `<!DOCTYPE html><html><body>${
          figures.map((f) => f.bundle()["text/html"]).join("\n")
        }</body></html>`;
      // With plotly.js on the page: the bar trace draws, the empty one does not.
      await Deno.writeTextFile(join(dir, "with.html"), page(good, partial));
      const withLibrary = await browser.check(join(dir, "with.html"));
      assert.deepEqual(withLibrary.figures.map((f) => [f.title, f.traces, f.drawn, f.empty]), [
        ["good", 1, 1, []],
        ["partial", 2, 1, ["nothing"]],
      ]);
      assert.deepEqual(problems(withLibrary), [
        'figure 2 "partial": drew 1 of 2 traces; nothing drawn for nothing',
      ]);
      // Without it, the figure shows why it is empty, and the check says so.
      await Deno.writeTextFile(join(dir, "without.html"), page(partial));
      const [error] = problems(await browser.check(join(dir, "without.html")));
      assert.match(error, /^figure 1: not drawn: This figure needs plotly\.js/);
    } finally {
      await browser.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
