#!/usr/bin/env node
// Opens each tlens::vis page in headless Chromium and uses it as a person would.
//
//   node tests/tools/check_views.js DIR
//
// DIR holds the pages and manifest.json, both written by tests/unit/vis_test.cpp: the manifest
// lists each page with the data the C++ side put in it, which is what the checks compare against.
// For every page: no console errors and no network requests; the right number of heatmap cells,
// points or tokens, each cell drawn in its value's colour; hovering shows the expected token pair
// and value; for attention_heads, hovering and clicking thumbnails switches the large view.
// Writes DIR/<view>.png. Exits 0 when every check passes, 1 otherwise, with one line per check.
//
// Environment: TLENS_CHROMIUM (default /usr/bin/chromium), TLENS_NPM_DIR (default
// third_party/npm, where scripts/setup.sh installs playwright-core).
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { pathToFileURL } = require("url");

const dir = path.resolve(process.argv[2] || "");
if (!process.argv[2] || !fs.existsSync(path.join(dir, "manifest.json"))) {
  console.error(`usage: check_views.js DIR (DIR/manifest.json not found)`);
  process.exit(2);
}
const npmDir = process.env.TLENS_NPM_DIR || path.join(__dirname, "..", "..", "third_party", "npm");
const { chromium } = require(path.join(npmDir, "node_modules", "playwright-core"));
const executablePath = process.env.TLENS_CHROMIUM || "/usr/bin/chromium";
const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));

// Tooltip values are printed with 4 decimals: a read-back value may differ by 5e-5 from the data.
const VALUE_TOLERANCE = 5e-5 + 1e-7;
// Canvas pixels are exact for opaque fills; allow 1 per channel for rounding in the colour math.
const COLOR_TOLERANCE = 1;

const display = (token) => token.replace(/\r?\n/g, "\u00b6");
const failures = [];
let passed = 0;
function check(ok, what, detail = "") {
  if (ok) ++passed;
  else failures.push(`${what}${detail ? `: ${detail}` : ""}`);
  console.log(`${ok ? "  ok  " : "  FAIL"} ${what}${!ok && detail ? ` -- ${detail}` : ""}`);
  return ok;
}
const closeColor = (a, b) => a.length === 3 && a.every((v, i) => Math.abs(v - b[i]) <= COLOR_TOLERANCE);

// The tooltip as a person reads it: its title and its rows, label -> text.
async function readTooltip(page) {
  return page.evaluate(() => {
    const tip = document.getElementById("tlens-tooltip");
    if (!tip || tip.hidden) return null;
    const title = tip.querySelector(".tt-title");
    const rows = {};
    for (const tr of tip.querySelectorAll("tr")) rows[tr.cells[0].textContent] = tr.cells[1].textContent;
    return { title: title ? title.textContent : null, rows };
  });
}

// Moves the mouse to the centre of heatmap cell (dest, src) of `canvasSelector`.
async function hoverCell(page, canvasSelector, n, dest, src) {
  const box = await page.locator(canvasSelector).boundingBox();
  await page.mouse.move(box.x + (src + 0.5) * box.width / n, box.y + (dest + 0.5) * box.height / n);
}

// The colour drawn at the centre of every cell of the canvas, [dest][src] -> [r, g, b].
async function cellColors(page, canvasSelector) {
  return page.$eval(canvasSelector, (canvas) => {
    const n = Number(canvas.dataset.rows);
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    const out = [];
    for (let dest = 0; dest < n; ++dest) {
      const row = [];
      for (let src = 0; src < n; ++src) {
        const x = Math.floor((src + 0.5) * canvas.width / n), y = Math.floor((dest + 0.5) * canvas.height / n);
        const at = 4 * (y * canvas.width + x);
        row.push([pixels[at], pixels[at + 1], pixels[at + 2]]);
      }
      out.push(row);
    }
    return out;
  });
}

// Every cell of the heatmap has its value's colour (grey where masked); returns the colours.
async function checkCells(page, view, canvasSelector, values, label) {
  const n = view.tokens.length;
  const dims = await page.$eval(canvasSelector, (c) => [Number(c.dataset.rows), Number(c.dataset.cols)]);
  check(dims[0] === n && dims[1] === n, `${label}: heatmap has ${n}x${n} cells`, `found ${dims.join("x")}`);
  const colors = await cellColors(page, canvasSelector);
  const expected = await page.evaluate(({ values, n, mask }) => {
    const out = [];
    for (let dest = 0; dest < n; ++dest) {
      for (let src = 0; src < n; ++src) {
        out.push(mask && src > dest ? [200, 200, 200] : window.tlensView.colorOf(values[dest * n + src]));
      }
    }
    return out;
  }, { values, n, mask: view.mask });
  const wrong = [];
  for (let dest = 0; dest < n; ++dest) {
    for (let src = 0; src < n; ++src) {
      if (!closeColor(colors[dest][src], expected[dest * n + src])) {
        wrong.push(`(${dest}, ${src}) is rgb(${colors[dest][src]}) not rgb(${expected[dest * n + src]})`);
      }
    }
  }
  check(wrong.length === 0, `${label}: each of the ${n * n} cells is drawn in its value's colour`,
        wrong.slice(0, 3).join("; "));
  return colors;
}

// Hovers (dest, src) and checks the tooltip against the tokens and the value from the manifest.
async function checkCellTooltip(page, view, canvasSelector, values, dest, src, label) {
  const n = view.tokens.length;
  await hoverCell(page, canvasSelector, n, dest, src);
  const tip = await readTooltip(page);
  if (!check(tip !== null, `${label}: hovering (${dest}, ${src}) shows a tooltip`)) return;
  const masked = view.mask && src > dest;
  const expect = values[dest * n + src];
  const shown = tip.rows.Value;
  check(tip.title === `(${dest}, ${src})` && tip.rows.Src === display(view.tokens[src]) &&
            tip.rows.Dest === display(view.tokens[dest]),
        `${label}: tooltip at (${dest}, ${src}) names src ${JSON.stringify(view.tokens[src])} and dest ${JSON.stringify(view.tokens[dest])}`,
        JSON.stringify(tip));
  if (masked) {
    check(shown === "N/A", `${label}: masked cell (${dest}, ${src}) shows N/A`, `shows ${shown}`);
  } else {
    check(Math.abs(Number(shown) - expect) <= VALUE_TOLERANCE,
          `${label}: tooltip at (${dest}, ${src}) shows the value ${expect}`, `shows ${shown}`);
  }
}

async function checkAttentionPattern(page, view) {
  const canvas = ".hm-canvas";
  const colors = await checkCells(page, view, canvas, view.values, view.name);
  for (const a of view.anchors) {
    check(closeColor(colors[a.dest][a.src], a.rgb), `${view.name}: cell (${a.dest}, ${a.src}) is rgb(${a.rgb})`,
          `drawn rgb(${colors[a.dest][a.src]})`);
  }
  const axisTitles = await page.$$eval(".hm-xtitle, .hm-ytitle", (els) => els.map((e) => e.textContent));
  check(axisTitles.includes("Source Token") && axisTitles.includes("Destination Token"),
        `${view.name}: axes titled "Source Token" and "Destination Token"`, axisTitles.join(", "));
  for (const [dest, src] of view.hover) await checkCellTooltip(page, view, canvas, view.values, dest, src, view.name);
  const [dest, src] = view.hover[0];
  await hoverCell(page, canvas, view.tokens.length, dest, src);  // the screenshot shows a tooltip
}

async function checkAttentionHeads(page, view) {
  const n = view.tokens.length, H = view.head_names.length;
  const head = (h) => view.values.slice(h * n * n, (h + 1) * n * n);
  const big = "#zoom .hm-canvas";
  const title = async () => page.textContent("#zoom-title");
  const thumbs = page.locator(".thumb");
  check(await thumbs.count() === H, `${view.name}: ${H} head thumbnails`, `found ${await thumbs.count()}`);
  const names = await page.$$eval(".thumb .thumb-name", (els) => els.map((e) => e.textContent));
  check(JSON.stringify(names) === JSON.stringify(view.head_names), `${view.name}: thumbnails named ${names.join(", ")}`,
        JSON.stringify(names));
  const header = await page.textContent("h3");
  check(header === "Head Selector (hover to view, click to lock)", `${view.name}: header reads "${header}"`);
  check(await title() === `${view.head_names[0]} Zoomed`, `${view.name}: head 0 in focus at first`, await title());

  const { peek, lock, other } = view;
  await thumbs.nth(peek).hover();
  check(await title() === `${view.head_names[peek]} Zoomed`, `${view.name}: hovering ${view.head_names[peek]} previews it`, await title());
  await checkCells(page, view, big, head(peek), `${view.name} (previewing ${view.head_names[peek]})`);
  await page.mouse.move(2, 2);
  check(await title() === `${view.head_names[0]} Zoomed`, `${view.name}: moving away returns to ${view.head_names[0]}`, await title());

  await thumbs.nth(lock).click();
  await page.mouse.move(2, 2);
  check(await title() === `${view.head_names[lock]} Zoomed`, `${view.name}: clicking ${view.head_names[lock]} locks it`, await title());
  await thumbs.nth(other).hover();
  check(await title() === `${view.head_names[lock]} Zoomed`,
        `${view.name}: while locked, hovering ${view.head_names[other]} keeps ${view.head_names[lock]}`, await title());
  await checkCells(page, view, big, head(lock), `${view.name} (locked on ${view.head_names[lock]})`);
  for (const [dest, src] of view.hover) {
    await checkCellTooltip(page, view, big, head(lock), dest, src, `${view.name} (${view.head_names[lock]} zoomed)`);
  }
  const shot = await page.evaluate(() => window.tlensView.focused);
  check(shot === lock, `${view.name}: the page reports ${view.head_names[lock]} in focus`, String(shot));

  // Unlock, check, then lock again for the screenshot with a tooltip.
  await thumbs.nth(lock).click();
  await thumbs.nth(other).hover();
  check(await title() === `${view.head_names[other]} Zoomed`,
        `${view.name}: clicking ${view.head_names[lock]} again unlocks it`, await title());
  await thumbs.nth(lock).click();
  const [dest, src] = view.hover[0];
  await hoverCell(page, big, n, dest, src);
}

async function checkLine(page, view) {
  const points = page.locator("circle.pt");
  check(await points.count() === view.y.length, `${view.name}: ${view.y.length} points`, `found ${await points.count()}`);
  const texts = await page.$$eval(".axis-title", (els) => els.map((e) => e.textContent));
  check(texts.includes(view.x_title) && texts.includes(view.y_title),
        `${view.name}: axes titled "${view.x_title}" and "${view.y_title}"`, texts.join(", "));
  for (const i of view.hover) {
    const box = await points.nth(i).boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const tip = await readTooltip(page);
    if (!check(tip !== null, `${view.name}: hovering point ${i} shows a tooltip`)) continue;
    check(tip.title === display(view.hover_names[i]), `${view.name}: point ${i} is named ${JSON.stringify(view.hover_names[i])}`,
          JSON.stringify(tip));
    check(Math.abs(Number(tip.rows[view.y_title]) - view.y[i]) <= VALUE_TOLERANCE,
          `${view.name}: point ${i} shows the value ${view.y[i]}`, JSON.stringify(tip.rows));
    check(tip.rows[view.x_title] === String(i), `${view.name}: point ${i} shows ${view.x_title} ${i}`, JSON.stringify(tip.rows));
  }
  // Points go up the page as the value grows.
  const ys = await points.evaluateAll((els) => els.map((e) => Number(e.getAttribute("cy"))));
  const order = view.y.map((_, i) => i).sort((a, b) => view.y[a] - view.y[b]);
  check(order.every((i, k) => k === 0 || ys[i] <= ys[order[k - 1]] + 1e-6), `${view.name}: higher values are drawn higher`);
  const i = view.hover[0];
  const box = await points.nth(i).boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
}

async function checkColoredTokens(page, view) {
  const spans = page.locator(".tok");
  check(await spans.count() === view.tokens.length, `${view.name}: ${view.tokens.length} tokens`, `found ${await spans.count()}`);
  const texts = await spans.evaluateAll((els) => els.map((e) => e.textContent));
  check(JSON.stringify(texts) === JSON.stringify(view.tokens.map(display)),
        `${view.name}: tokens read as given (spaces kept, newline as \u00b6)`, JSON.stringify(texts));
  const breaks = await page.locator(".tokens br").count();
  const newlines = view.tokens.filter((t) => t.includes("\n")).length;
  check(breaks === newlines, `${view.name}: ${newlines} line breaks`, `found ${breaks}`);
  const colors = await spans.evaluateAll((els) => els.map((e) => getComputedStyle(e).backgroundColor.match(/\d+/g).slice(0, 3).map(Number)));
  for (const a of view.anchors) {
    check(closeColor(colors[a.index], a.rgb), `${view.name}: token ${a.index} (${view.values[a.index]}) is rgb(${a.rgb})`,
          `drawn rgb(${colors[a.index]})`);
  }
  for (const i of view.hover) {
    await spans.nth(i).hover();
    const tip = await readTooltip(page);
    if (!check(tip !== null, `${view.name}: hovering token ${i} shows a tooltip`)) continue;
    check(tip.rows.Token === display(view.tokens[i]) && Math.abs(Number(tip.rows.Value) - view.values[i]) <= VALUE_TOLERANCE,
          `${view.name}: token ${i} shows ${JSON.stringify(view.tokens[i])} and ${view.values[i]}`, JSON.stringify(tip.rows));
  }
  await spans.nth(view.hover[0]).hover();
}

// The view and its tooltip, with a margin: what a screenshot should show.
async function contentBox(page) {
  return page.evaluate(() => {
    const boxes = [document.getElementById("tlens-root"), document.getElementById("tlens-tooltip")]
      .filter((e) => e && !e.hidden).map((e) => e.getBoundingClientRect());
    const left = Math.max(0, Math.min(...boxes.map((b) => b.left)) - 8);
    const top = Math.max(0, Math.min(...boxes.map((b) => b.top)) - 8);
    const right = Math.max(...boxes.map((b) => b.right)) + 8, bottom = Math.max(...boxes.map((b) => b.bottom)) + 8;
    return { x: left, y: top, width: right - left, height: bottom - top };
  });
}

const checkers = { attention_pattern: checkAttentionPattern, attention_heads: checkAttentionHeads,
                   line: checkLine, colored_tokens: checkColoredTokens };

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
    for (const view of manifest.views) {
      console.log(`${view.name} (${view.file})`);
      const page = await context.newPage();
      const url = pathToFileURL(path.join(dir, view.file)).href;
      const problems = [];
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(`console error: ${m.text()}`);
        // Warnings are shown, not failed: reading pixels back (as this script does) makes one.
        if (m.type() === "warning") console.log(`  (console warning: ${m.text().slice(0, 100)})`);
      });
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("request", (r) => { if (r.url() !== url) problems.push(`request to ${r.url()}`); });
      await page.goto(url, { waitUntil: "load" });
      check(await page.evaluate(() => typeof window.tlensView === "object"), `${view.name}: the page's script ran`);
      try {
        await checkers[view.kind](page, view);
      } catch (e) {
        check(false, `${view.name}: checks ran to the end`, e.message.split("\n")[0]);
      }
      const shot = path.join(dir, `${view.name}.png`);
      await page.screenshot({ path: shot, clip: await contentBox(page) });
      check(problems.length === 0, `${view.name}: no console errors, page errors or network requests`, problems.join("; "));
      console.log(`  screenshot ${shot}`);
      await page.close();
    }
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  console.log(`${passed} checks passed, ${failures.length} failed`);
  return failures.length === 0 ? 0 : 1;
}

setTimeout(() => { console.error("check_views.js: gave up after 90 s"); process.exit(3); }, 90000).unref();
main().then((code) => process.exit(code), (e) => { console.error(`check_views.js: ${e.stack || e}`); process.exit(2); });
