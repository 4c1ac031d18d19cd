#!/usr/bin/env node
// Opens an executed notebook, exported to HTML by nbconvert, in headless Chromium and checks that
// each tlens view in it (an <iframe class="tlens-view">, from RenderedHTML._repr_html_) drew.
//
//   node tests/tools/check_notebook.js FILE.html [EXPECT.json]
//
// Every network request is blocked and counted: the notebook page itself may ask for a CDN
// (nbconvert's require.js and MathJax, a markdown image), which is listed but not failed; a view
// must not need one. In each view's frame: the script ran, the frame grew to the view's height,
// the heatmaps have a size and are not blank, the axis labels are the tokens, hovering a cell shows
// its tooltip (tokens and value), and attention_heads has one named thumbnail per head; no console
// or page errors and no requests from the frame.
//
// EXPECT.json (optional, written by python/tests/test_notebook.py from its own run of tlens):
//   { "tokens": [...], "views": [{ "kind": "attention_pattern", "values": [dest * n + src] },
//                                { "kind": "attention_heads", "head_names": [...], "values": [...] }] }
// Without it, the views are checked against the data embedded in their own pages.
// Writes FILE.png (the page) and FILE.view<i>.png (each view, tooltip shown) next to FILE.html.
// Exits 0 when every check passes, 1 otherwise, with one line per check.
//
// Environment: TLENS_CHROMIUM (default /usr/bin/chromium), TLENS_NPM_DIR (default
// third_party/npm, where scripts/setup.sh installs playwright-core).
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { pathToFileURL } = require("url");

const file = process.argv[2] ? path.resolve(process.argv[2]) : "";
if (!file || !fs.existsSync(file)) {
  console.error(`usage: check_notebook.js FILE.html [EXPECT.json] (${file || "FILE.html"} not found)`);
  process.exit(2);
}
const expect = process.argv[3] ? JSON.parse(fs.readFileSync(process.argv[3], "utf8")) : null;
const npmDir = process.env.TLENS_NPM_DIR || path.join(__dirname, "..", "..", "third_party", "npm");
const { chromium } = require(path.join(npmDir, "node_modules", "playwright-core"));
const executablePath = process.env.TLENS_CHROMIUM || "/usr/bin/chromium";
const stem = file.replace(/\.html?$/, "");

// Tooltip values are printed with 4 decimals; page data are float32s written as JSON.
const VALUE_TOLERANCE = 5e-5 + 1e-7;
const DATA_TOLERANCE = 1e-6;

const display = (token) => token.replace(/\r?\n/g, "\u00b6");
const failures = [];
let passed = 0;
function check(ok, what, detail = "") {
  if (ok) ++passed;
  else failures.push(`${what}${detail ? `: ${detail}` : ""}`);
  console.log(`${ok ? "  ok  " : "  FAIL"} ${what}${!ok && detail ? ` -- ${detail}` : ""}`);
  return ok;
}
const sameJson = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const worstDiff = (a, b) => a.reduce((worst, v, i) => Math.max(worst, Math.abs(v - b[i])), 0);

// Runs in every frame before its scripts: keeps the frame's own errors where the checks read them.
function captureErrors() {
  const problems = [];
  Object.defineProperty(window, "__tlensProblems", { value: problems });
  const error = console.error.bind(console);
  console.error = (...args) => { problems.push(`console error: ${args.map(String).join(" ")}`); error(...args); };
  window.addEventListener("error", (e) => problems.push(`page error: ${e.message}`));
  window.addEventListener("unhandledrejection", (e) => problems.push(`unhandled rejection: ${e.reason}`));
}

// The tooltip as a person reads it: its title and its rows, label -> text.
async function readTooltip(frame) {
  return frame.evaluate(() => {
    const tip = document.getElementById("tlens-tooltip");
    if (!tip || tip.hidden) return null;
    const title = tip.querySelector(".tt-title");
    const rows = {};
    for (const tr of tip.querySelectorAll("tr")) rows[tr.cells[0].textContent] = tr.cells[1].textContent;
    return { title: title ? title.textContent : null, rows };
  });
}

// Size in CSS pixels, size in canvas pixels, cells, and how many pixels are not white.
async function canvasFacts(locator) {
  return locator.evaluate((canvas) => {
    const box = canvas.getBoundingClientRect();
    const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let coloured = 0;
    for (let at = 0; at < px.length; at += 4) {
      if (px[at] !== 255 || px[at + 1] !== 255 || px[at + 2] !== 255) ++coloured;
    }
    return { cssWidth: box.width, cssHeight: box.height, width: canvas.width, height: canvas.height,
             rows: Number(canvas.dataset.rows), cols: Number(canvas.dataset.cols), coloured };
  });
}

async function checkCanvas(locator, n, label) {
  const c = await canvasFacts(locator);
  check(c.cssWidth > 0 && c.cssHeight > 0 && c.width > 0 && c.height > 0,
        `${label}: heatmap has a size (${c.cssWidth}x${c.cssHeight} CSS px)`, JSON.stringify(c));
  check(c.rows === n && c.cols === n, `${label}: heatmap has ${n}x${n} cells`, `found ${c.rows}x${c.cols}`);
  check(c.coloured > 0, `${label}: heatmap is drawn (${c.coloured} of ${c.width * c.height} pixels not white)`);
}

// The axis labels read "token (index)", one per `every` tokens on each axis.
async function checkLabels(frame, tokens, label) {
  for (const axis of ["hm-ylabels", "hm-xlabels"]) {
    const texts = await frame.$$eval(`#tlens-root .${axis} .hm-label`, (els) => els.map((e) => e.textContent));
    const every = texts.length ? Math.ceil(tokens.length / texts.length) : 0;
    const want = tokens.map((t, i) => `${display(t)} (${i})`).filter((_, i) => every && i % every === 0);
    check(texts.length > 0 && sameJson(texts, want),
          `${label}: ${axis === "hm-ylabels" ? "destination" : "source"} labels are the ${tokens.length} tokens` +
          (every > 1 ? ` (every ${every}th)` : ""), `found ${JSON.stringify(texts).slice(0, 200)}`);
  }
}

// Hovers cell (dest, src) of the canvas and checks the tooltip against the tokens and `values`.
async function checkTooltip(frame, canvas, tokens, values, dest, src, label) {
  const n = tokens.length;
  const box = await canvas.evaluate((c) => { const r = c.getBoundingClientRect(); return [r.width, r.height]; });
  await canvas.hover({ position: { x: (src + 0.5) * box[0] / n, y: (dest + 0.5) * box[1] / n } });
  const tip = await readTooltip(frame);
  if (!check(tip !== null, `${label}: hovering cell (${dest}, ${src}) shows a tooltip`)) return;
  check(tip.title === `(${dest}, ${src})` && tip.rows.Src === display(tokens[src]) && tip.rows.Dest === display(tokens[dest]),
        `${label}: tooltip names src ${JSON.stringify(tokens[src])} and dest ${JSON.stringify(tokens[dest])}`,
        JSON.stringify(tip));
  const value = values[dest * n + src];
  check(Math.abs(Number(tip.rows.Value) - value) <= VALUE_TOLERANCE,
        `${label}: tooltip shows the value ${value.toFixed(4)}`, `shows ${tip.rows.Value}`);
}

// The cells to hover: the last row's largest value (what the last token attends to most) and the
// first token's cell, which is never masked.
function hoverCells(values, n) {
  const last = values.slice((n - 1) * n, n * n);
  return [[n - 1, last.indexOf(Math.max(...last))], [0, 0]];
}

async function checkPattern(frame, view, tokens, wanted, label) {
  const n = tokens.length;
  const values = view.data.pattern;
  if (wanted) {
    check(values.length === wanted.values.length && worstDiff(values, wanted.values) <= DATA_TOLERANCE,
          `${label}: the page holds the pattern tlens computes (max diff ${values.length === wanted.values.length
            ? worstDiff(values, wanted.values).toExponential(1) : "n/a"})`, `${values.length} values`);
  }
  const canvas = frame.locator("#tlens-root .hm-canvas");
  check(await canvas.count() === 1, `${label}: one heatmap`, `found ${await canvas.count()}`);
  await checkCanvas(canvas.first(), n, label);
  await checkLabels(frame, tokens, label);
  const cells = hoverCells(values, n);
  for (const [dest, src] of cells.slice().reverse()) await checkTooltip(frame, canvas.first(), tokens, values, dest, src, label);
}

async function checkHeads(frame, view, tokens, wanted, label) {
  const n = tokens.length, H = view.data.n_heads;
  const names = view.data.head_names;
  const values = view.data.attention;
  const head = (h) => values.slice(h * n * n, (h + 1) * n * n);
  if (wanted) {
    check(sameJson(names, wanted.head_names), `${label}: heads named ${wanted.head_names.join(", ")}`, JSON.stringify(names));
    check(values.length === wanted.values.length && worstDiff(values, wanted.values) <= DATA_TOLERANCE,
          `${label}: the page holds the patterns tlens computes`, `${values.length} values`);
  }
  const thumbs = frame.locator("#tlens-root .thumb");
  check(await thumbs.count() === H, `${label}: one thumbnail per head (${H})`, `found ${await thumbs.count()}`);
  const thumbNames = await frame.$$eval("#tlens-root .thumb .thumb-name", (els) => els.map((e) => e.textContent));
  check(sameJson(thumbNames, names), `${label}: thumbnails named ${names.join(", ")}`, JSON.stringify(thumbNames));
  for (let h = 0; h < H; ++h) await checkCanvas(thumbs.nth(h).locator(".hm-canvas"), n, `${label} thumbnail ${names[h]}`);
  const big = frame.locator("#zoom .hm-canvas");
  await checkCanvas(big, n, `${label} zoomed head`);
  await checkLabels(frame, tokens, `${label} zoomed head`);
  const title = async () => frame.textContent("#zoom-title");
  check(await title() === `${names[0]} Zoomed`, `${label}: ${names[0]} is zoomed at first`, await title());
  // Click the last head to lock it, then read its cells through the tooltip.
  const locked = H - 1;
  await thumbs.nth(locked).click();
  check(await title() === `${names[locked]} Zoomed`, `${label}: clicking ${names[locked]} zooms it`, await title());
  const cells = hoverCells(head(locked), n);
  for (const [dest, src] of cells.slice().reverse()) {
    await checkTooltip(frame, big, tokens, head(locked), dest, src, `${label} (${names[locked]} zoomed)`);
  }
  check(await title() === `${names[locked]} Zoomed`, `${label}: ${names[locked]} stays zoomed while its cells are hovered`, await title());
}

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "tlens-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
  });
  try {
    await context.addInitScript(captureErrors);
    const url = pathToFileURL(file).href;
    const local = (u) => /^(file|data|about|blob):/.test(u);
    const requests = [];  // { url, frame } of every request that would leave the machine
    await context.route("**/*", (route) => (local(route.request().url()) ? route.continue() : route.abort()));
    context.on("request", (r) => { if (!local(r.url())) requests.push({ url: r.url(), frame: r.frame() }); });
    const page = await context.newPage();
    const pageConsole = [];  // the notebook page's own errors: shown, not failed
    page.on("console", (m) => { if (m.type() === "error") pageConsole.push({ text: m.text(), url: m.location().url }); });

    console.log(path.basename(file));
    await page.goto(url, { waitUntil: "load" });
    const iframes = await page.$$("iframe.tlens-view");
    const wantedViews = expect ? expect.views : null;
    check(iframes.length > 0 && (!wantedViews || iframes.length === wantedViews.length),
          `the notebook shows ${wantedViews ? wantedViews.length : "some"} tlens views`, `found ${iframes.length}`);
    const frames = [];
    for (const [i, iframe] of iframes.entries()) {
      const frame = await iframe.contentFrame();
      frames.push(frame);
      let view = null;
      try {
        await frame.waitForFunction(() => typeof window.tlensView === "object", null, { timeout: 15000 });
        view = await frame.evaluate(() => ({ kind: document.getElementById("tlens-root").className.replace(/^tlens-/, ""),
                                             data: window.tlens.data }));
      } catch (e) {
        // reported below
      }
      const label = `view ${i}${view ? ` (${view.kind})` : ""}`;
      console.log(label);
      const frameProblems = async () => frame.evaluate(() => window.__tlensProblems || ["(errors were not captured)"]);
      if (!check(view !== null, `${label}: the view's script ran`, (await frameProblems()).join("; "))) continue;
      const wanted = wantedViews ? wantedViews[i] : null;
      if (wanted) check(view.kind === wanted.kind, `${label}: is ${wanted.kind}`, `is ${view.kind}`);
      const tokens = expect ? expect.tokens : view.data.tokens;
      check(sameJson(view.data.tokens, tokens), `${label}: shows the notebook's ${tokens.length} tokens`,
            `page has ${JSON.stringify(view.data.tokens).slice(0, 200)}`);
      // The frame grows to its page once the page has drawn (RenderedHTML's onload).
      await page.waitForFunction((el) => el.clientHeight > 150, iframe, { timeout: 5000 }).catch(() => {});
      const heights = await iframe.evaluate((el) => [el.clientHeight, el.contentDocument ? el.contentDocument.documentElement.scrollHeight : -1]);
      check(heights[1] > 0 && heights[0] >= heights[1], `${label}: the frame is as tall as the view (${heights[0]} px)`,
            `frame ${heights[0]} px, view ${heights[1]} px`);
      try {
        if (view.kind === "attention_pattern") await checkPattern(frame, view, tokens, wanted, label);
        else if (view.kind === "attention_heads") await checkHeads(frame, view, tokens, wanted, label);
        else check(false, `${label}: is an attention view`, `kind ${view.kind}`);
      } catch (e) {
        check(false, `${label}: checks ran to the end`, e.message.split("\n")[0]);
      }
      const shot = `${stem}.view${i}.png`;
      await iframe.screenshot({ path: shot });
      console.log(`  screenshot ${shot}`);
      const problems = await frameProblems();
      const asked = requests.filter((r) => r.frame === frame).map((r) => r.url);
      check(problems.length === 0 && asked.length === 0, `${label}: no console errors, page errors or network requests`,
            problems.concat(asked.map((u) => `request to ${u}`)).join("; "));
      await page.mouse.move(0, 0);
    }
    const fromViews = requests.filter((r) => frames.includes(r.frame));
    const blocked = requests.length - fromViews.length;
    console.log(`notebook page: ${blocked} network request${blocked === 1 ? "" : "s"} blocked (not needed by the views)` +
                requests.filter((r) => !frames.includes(r.frame)).map((r) => `\n  ${r.url}`).join(""));
    const ownErrors = pageConsole.filter((m) => !/^Failed to load resource/.test(m.text));
    if (ownErrors.length) console.log(`notebook page: console errors outside the views:\n  ${ownErrors.map((m) => m.text).join("\n  ")}`);
    const shot = `${stem}.png`;
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`screenshot ${shot}`);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  console.log(`${passed} checks passed, ${failures.length} failed`);
  return failures.length === 0 ? 0 : 1;
}

setTimeout(() => { console.error("check_notebook.js: gave up after 90 s"); process.exit(3); }, 90000).unref();
main().then((code) => process.exit(code), (e) => { console.error(`check_notebook.js: ${e.stack || e}`); process.exit(2); });
