/**
 * The notebooks run and their figures draw in a browser: every notebook is executed headless (no
 * cell may raise, and every cell that shows a figure must have one), exported to HTML
 * with `jupyter nbconvert --to html`, and loaded in headless Chromium without network access,
 * where every Plotly figure must draw all of its traces (see tools/notebooks/). In the stored
 * notebooks (what a reader of the repository sees) every figure output must be the Plotly figure
 * and a PNG of it (`image/png`), without the live `text/html` form: code hosts run no scripts and
 * rank HTML above PNG, so they show the PNG only when there is no HTML.
 *
 * Needs Jupyter's nbconvert and Chromium (Debian: `apt-get install -y --no-install-recommends
 * chromium jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel`). Without them the
 * rendering tests are ignored on a developer machine and fail under CI (`CI=true`); the tests of
 * the stored PNGs and of the notebook files need neither.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { FigureBrowser, type PageReport, problems } from "../../tools/notebooks/browser.ts";
import { INSTALL_HINT, missingTools } from "../../tools/notebooks/main.ts";
import {
  executeNotebook,
  exportHtml,
  listNotebooks,
  NOTEBOOKS_DIR,
} from "../../tools/notebooks/nbconvert.ts";
import {
  addFigurePngs,
  dropPlotlyJs,
  executionProblems,
  figureIdOf,
  figureOutputs,
  formatNotebook,
  type Notebook,
  parseNotebook,
  readNotebook,
  storedOutputs,
} from "../../tools/notebooks/notebook_json.ts";
import { plot, PLOTLY_MIME } from "../../notebooks/plot.ts";

const ci = ["true", "1", "yes"].includes((Deno.env.get("CI") ?? "").toLowerCase());
const missing = missingTools();
const notebooks = listNotebooks();
if (missing && !ci) {
  console.warn(
    `notebooks_test: ignoring the figures of ${notebooks.length} notebook(s): ${missing}; to ` +
      `check them, ${INSTALL_HINT}`,
  );
}

/** The first bytes of every PNG file. */
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Largest stored PNG: a figure at scale 1 is 10 to 60 kB; more means a wrong size or scale. */
const MAX_PNG_BYTES = 200 * 1024;

/** Width and height of a PNG file (from its IHDR chunk). */
function pngSize(png: Uint8Array): [number, number] {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return [view.getUint32(16), view.getUint32(20)];
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
  name: "every notebook runs headless and its figures draw all their traces in Chromium",
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

        const ok = await t.step(name, async () => {
          const executed = await executeNotebook(path, join(work, "executed"));
          const nb = await readNotebook(executed);
          const failed = executionProblems(nb);
          assert.deepEqual(failed, [], `${name} (executed):\n${failed.join("\n")}`);
          const { figures } = storedOutputs(nb);
          const html = await exportHtml(executed, join(work, "html"));
          assertDrawn(`${name} (executed)`, await browser.check(html), figures);
        });

        if (!ok) keep = true;
      }
    } finally {
      await browser.close();
      if (keep) console.error(`notebooks_test: files kept in ${work}`);
      else await Deno.remove(work, { recursive: true });
    }
  },
});

Deno.test("every stored figure output is a PNG of the figure, for viewers without scripts", async (t) => {
  for (const name of notebooks) {
    const path = join(NOTEBOOKS_DIR, name);
    const stored = storedOutputs(await readNotebook(path));
    await t.step({
      name,
      fn: async () => {
        assert.ok(
          stored.outputs > 0,
          `${name} is stored without outputs, so a code host shows no figures; store it with: ` +
            `deno task notebooks ${name}`,
        );
        assert.deepEqual(
          stored.withoutPng,
          [],
          `${name}: ${stored.withoutPng.length} of ${stored.figures} figure output(s) have no ` +
            "image/png, so code hosts (GitHub, GitLab), which run no scripts, show them empty:\n  " +
            stored.withoutPng.join("\n  ") +
            "\nStore the notebooks again, with their outputs and " +
            `a PNG of each figure: deno task notebooks (or: deno task notebooks ${name})`,
        );
        assert.equal(
          stored.plotlyJsParts,
          0,
          `${name} stores the plotly.js library, which no stored figure uses; store it again: ` +
            `deno task notebooks ${name}`,
        );
        assert.deepEqual(
          stored.withHtml,
          [],
          `${name}: ${stored.withHtml.length} figure output(s) keep their text/html form, which ` +
            "code hosts rank above the PNG and show blank (they run no scripts):\n  " +
            stored.withHtml.join("\n  ") +
            `\nStore the notebook again: deno task notebooks ${name}`,
        );
        const nb = parseNotebook(await Deno.readTextFile(path));
        for (const { cell, output } of figureOutputs(nb)) {
          const png = Buffer.from(output.data!["image/png"] as string, "base64");
          const where = `${name}, cell ${cell}`;
          assert.deepEqual([...png.subarray(0, 8)], PNG_SIGNATURE, `${where}: not a PNG`);
          const [width, height] = pngSize(png);
          assert.ok(
            width >= 200 && width <= 1600 && height >= 150 && height <= 1200,
            `${where}: the PNG is ${width} x ${height} pixels; expected a figure at scale 1 ` +
              "(see tools/notebooks/browser.ts); run deno task notebooks",
          );
          assert.ok(
            png.length <= MAX_PNG_BYTES,
            `${where}: the PNG has ${png.length} bytes, over ${MAX_PNG_BYTES}`,
          );
          assert.ok(figureIdOf(output), `${where}: the figure output names no figure div`);
        }
      },
    });
  }
});

Deno.test("stored notebooks read and written back are unchanged, byte for byte", async () => {
  // --save-notebooks writes the notebooks with formatNotebook; Jupyter's own format (numbers as
  // Python writes them, `1e-07`, sorted keys, indent 1) must come out unchanged, or every store
  // would rewrite the whole file.
  for (const name of notebooks) {
    const text = await Deno.readTextFile(join(NOTEBOOKS_DIR, name));
    assert.ok(formatNotebook(parseNotebook(text)) === text, `${name} changed when written back`);
  }
  const python = '{\n "a": [\n  1e-07,\n  2.0,\n  -0.0,\n  "\u00e9\\n"\n ],\n "cells": []\n}\n';
  assert.equal(formatNotebook(parseNotebook(python)), python);
});

Deno.test("addFigurePngs puts each figure's PNG in place of its HTML, found by its div id", async () => {
  const figure = (title: string) =>
    plot(
      { data: [{ x: [0, 1], y: [1, 0], type: "scatter" }], layout: { title: { text: title } } },
      {
        includePlotlyJs: false,
      },
    ).bundle();
  const a = figure("a");
  const b = figure("b");
  const ids = [a, b].map((bundle) => /^<div id="([^"]+)"/.exec(bundle["text/html"])![1]);
  assert.notEqual(ids[0], ids[1]);
  const nb: Notebook = {
    cells: [
      { cell_type: "markdown", source: ["# A notebook\n"] },
      {
        cell_type: "code",
        outputs: [
          { output_type: "stream", name: "stdout", text: ["hello\n"] },
          // A part of the library, as show() sends it before a session's first figure.
          {
            output_type: "display_data",
            data: {
              "text/html": [
                '<script type="text/javascript">/* plotly.js 4.1.2 (MIT), ',
                "part 1/5 */",
              ],
            },
            metadata: {},
          },
          // As plot.ts's show() stores a figure: the id in the metadata as well.
          {
            output_type: "display_data",
            data: { ...a },
            metadata: { fasterode: { figure: ids[0] } },
          },
        ],
      },
      // As a figure that ended a cell is stored: no metadata, the id only in the HTML.
      {
        cell_type: "code",
        outputs: [{ output_type: "display_data", data: { ...b }, metadata: {} }],
      },
    ],
  };
  const png = (n: number) => new Uint8Array([...PNG_SIGNATURE, n]);
  const dir = await Deno.makeTempDir({ prefix: "fasterode_pngs_test_" });
  try {
    const path = join(dir, "nb.ipynb");
    await Deno.writeTextFile(path, formatNotebook(nb));
    const before = storedOutputs(await readNotebook(path));
    assert.deepEqual(before, {
      outputs: 4,
      figures: 2,
      withoutPng: ['cell 2, output 3 ("a")', 'cell 3, output 1 ("b")'],
      withHtml: ['cell 2, output 3 ("a")', 'cell 3, output 1 ("b")'],
      plotlyJsParts: 1,
    });

    assert.deepEqual(addFigurePngs(nb, new Map([[ids[1], png(2)]])), [
      `cell 2, output 3 ("a"): no PNG of figure ${ids[0]}`,
    ]);
    // Figure b lost its HTML above; its id is now in its metadata, so it is found again.
    assert.deepEqual(addFigurePngs(nb, new Map([[ids[0], png(1)], [ids[1], png(2)]])), []);
    const outputs = figureOutputs(nb).map(({ output }) => output.data!);
    assert.deepEqual(outputs.map((data) => Buffer.from(data["image/png"] as string, "base64")[8]), [
      1,
      2,
    ]);
    // The Plotly figure stays (frontends that render its MIME type show it interactive); the HTML
    // goes, since code hosts would pick it over the PNG and show it blank.
    for (const data of outputs) {
      assert.ok(data[PLOTLY_MIME] !== undefined && data["text/html"] === undefined);
    }
    assert.deepEqual(figureOutputs(nb).map(({ output }) => figureIdOf(output)), ids);
    assert.equal(dropPlotlyJs(nb), 1);
    await Deno.writeTextFile(path, formatNotebook(nb));
    const after = storedOutputs(await readNotebook(path));
    assert.deepEqual([after.outputs, after.withoutPng, after.withHtml, after.plotlyJsParts], [
      3,
      [],
      [],
      0,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "the render check reports a missing trace and a figure without plotly.js",
  ignore: missing !== undefined && !ci,
  async fn() {
    if (missing) throw new Error(`${missing} (CI=true requires it); ${INSTALL_HINT}`);
    const { plot } = await import("../../notebooks/plot.ts");
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
      const html = page(good, partial);
      await Deno.writeTextFile(join(dir, "with.html"), html);
      const withLibrary = await browser.check(join(dir, "with.html"), { capture: true });
      assert.deepEqual(withLibrary.figures.map((f) => [f.title, f.traces, f.drawn, f.empty]), [
        ["good", 1, 1, []],
        ["partial", 2, 1, ["nothing"]],
      ]);
      // Each figure is reported with its div's id, and captured as a PNG at scale 1.
      const ids = [...html.matchAll(/<div id="([^"]+)" class="fasterode-plot"/g)].map((m) => m[1]);
      assert.deepEqual(withLibrary.figures.map((f) => f.id), ids);
      for (const f of withLibrary.figures) {
        assert.deepEqual([...f.png!.subarray(0, 8)], PNG_SIGNATURE);
        const [width, height] = pngSize(f.png!);
        assert.ok(width > 500 && width <= 1000 && height === 450, `${width} x ${height}`);
      }
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
