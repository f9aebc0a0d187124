// Loads DHAT JSON files into Valgrind's own dh_view.html in the system's
// headless Chromium, the way a user would (through the page's file input),
// and checks what the page shows.
//
// Usage: node scripts/viewer/check.mjs MANIFEST [SCREENSHOT_DIR [FILE.json ...]]
//
// MANIFEST is the viewer-manifest.json that compat-tests writes: one entry
// per JSON file with the totals summed from its program points and whether
// the viewer should accept it ("accept") or reject it as containing a
// repeated location ("reject": two program points with identical fs lists,
// dhat issue #29). For an accepted file the root node's rendered
// "Total:" (and, for heap files, "At t-gmax:" and "At t-end:") figures must
// equal the sums from the file. Nothing is downloaded: the browser is
// Debian's chromium and the viewer comes from Debian's valgrind package,
// found through dpkg at run time.
//
// Files named after SCREENSHOT_DIR have no dhat counterpart (the native
// profiler's call-site file, say): each must be accepted, with the root's
// figures equal to the sums the file itself gives.
//
// Prints one line per file and "viewer: N ok, M failing"; exits 1 on any
// failure.

import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

const VIEWER_FILES = ["dh_view.html", "dh_view.js", "dh_view.css"];
const BROWSER_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function fail(message) {
  console.error(`viewer: ${message}`);
  process.exit(2);
}

// The directory holding dh_view.html, as installed by the valgrind package.
function findViewer() {
  let listing = "";
  try {
    listing = execFileSync("dpkg", ["-L", "valgrind"], { encoding: "utf8" });
  } catch (error) {
    fail(`cannot list the valgrind package (${error.message}); install it with apt-get install valgrind`);
  }
  const html = listing.split("\n").find((line) => line.endsWith("/dh_view.html"));
  if (!html) fail("the valgrind package has no dh_view.html");
  return path.dirname(html);
}

function findBrowser() {
  for (const candidate of [process.env.CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (candidate && fs.existsSync(candidate)) return candidate;
  }
  fail("no chromium found; install it with apt-get install chromium (or set CHROMIUM)");
}

// "1,234" -> 1234, using the page's own grouping (en-US in headless Chromium).
const number = (text) => Number(text.replace(/[^\d.]/g, ""));

// Reads the root node's figures from the rendered tree: the first "Total:",
// "At t-gmax:" and "At t-end:" lines, which belong to PP 1/1.
function rootFigures(text) {
  const figure = (label) => {
    const match = text.match(new RegExp(`${label}\\s+([\\d,.]+) \\S+ (?:\\([^)]*\\) )?in ([\\d,.]+) \\S+`));
    return match ? [number(match[1]), number(match[2])] : null;
  };
  return { total: figure("Total:"), gmax: figure("At t-gmax:"), end: figure("At t-end:") };
}

function screenshotName(entry, suffix = "") {
  const file = entry.file.replace(/[^A-Za-z0-9_.-]+/g, "_");
  return `${entry.variant}-${entry.scenario}-${file}${suffix}.png`;
}

async function load(page, viewerUrl, file) {
  await page.goto(viewerUrl);
  await page.setInputFiles("input[type=file]", file);
  // loadFile() replaces the main section with a <pre> tree or an error span.
  await page.waitForFunction(
    () => document.querySelector("pre") || document.querySelector(".error"),
    null,
    { timeout: 20000 },
  );
  const error = await page.$$eval(".error", (nodes) => nodes.map((n) => n.textContent).join(" | "));
  const tree = await page.$$eval("pre", (nodes) => nodes.map((n) => n.innerText).join("\n"));
  return { error, tree };
}

function judge(entry, { error, tree }) {
  const problems = [];
  if (entry.expect === "reject") {
    if (!error.includes(entry.expectedError)) {
      problems.push(`expected the viewer to reject it with "${entry.expectedError}", it showed ${error ? `"${error}"` : "the tree"}`);
    }
    return problems;
  }
  if (error) return [`the viewer rejected it: ${error}`];
  if (!tree.includes("PP 1/1")) problems.push("no root node (PP 1/1) rendered");
  const figures = rootFigures(tree);
  const expect = (label, got, bytes, blocks) => {
    if (!got) problems.push(`no "${label}" figure for the root node`);
    else if (got[0] !== bytes || got[1] !== blocks) {
      problems.push(`root ${label} shows ${got[0]} / ${got[1]}, the file sums to ${bytes} / ${blocks}`);
    }
  };
  expect("Total", figures.total, entry.totalBytes, entry.totalBlocks);
  if (entry.heap) {
    expect("At t-gmax", figures.gmax, entry.gmaxBytes, entry.gmaxBlocks);
    expect("At t-end", figures.end, entry.endBytes, entry.endBlocks);
  }
  return problems;
}

// The expectations for a file that no manifest describes: accepted, with the
// root showing the sums of its own program points.
function entryForFile(file) {
  const data = JSON.parse(fs.readFileSync(file, "utf8"));
  const sum = (key) => data.pps.reduce((total, pp) => total + (pp[key] ?? 0), 0);
  return {
    variant: "native",
    scenario: path.basename(path.dirname(path.resolve(file))),
    file: path.basename(file),
    path: file,
    heap: Boolean(data.bklt),
    expect: "accept",
    expectedError: "",
    totalBytes: sum("tb"),
    totalBlocks: sum("tbk"),
    gmaxBytes: sum("gb"),
    gmaxBlocks: sum("gbk"),
    endBytes: sum("eb"),
    endBlocks: sum("ebk"),
    points: data.pps.length,
  };
}

async function main() {
  const [manifestPath, screenshotDir = "artifacts/viewer", ...extraFiles] = process.argv.slice(2);
  if (!manifestPath) fail("usage: node check.mjs MANIFEST [SCREENSHOT_DIR [FILE.json ...]]");
  const entries = JSON.parse(fs.readFileSync(manifestPath, "utf8"));
  for (const file of extraFiles) entries.push(entryForFile(file));
  fs.mkdirSync(screenshotDir, { recursive: true });

  // Serve the viewer from a private copy so nothing in the system directory
  // is touched, and give the browser a fresh profile.
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "dh-view-"));
  const viewerDir = findViewer();
  for (const name of VIEWER_FILES) fs.copyFileSync(path.join(viewerDir, name), path.join(scratch, name));
  const viewerUrl = pathToFileURL(path.join(scratch, "dh_view.html")).href;
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "dh-view-profile-"));

  const context = await chromium.launchPersistentContext(profile, {
    executablePath: findBrowser(),
    headless: true,
    args: BROWSER_FLAGS,
    viewport: { width: 1400, height: 1000 },
  });
  let ok = 0;
  let failing = 0;
  try {
    const page = await context.newPage();
    for (const entry of entries) {
      const label = `${entry.variant} ${entry.scenario} ${entry.file}`;
      let problems;
      try {
        const shown = await load(page, viewerUrl, path.resolve(entry.path));
        problems = judge(entry, shown);
        await page.screenshot({ path: path.join(screenshotDir, screenshotName(entry)), fullPage: false });
      } catch (error) {
        problems = [`could not load it: ${error.message.split("\n")[0]}`];
      }
      const verdict = entry.expect === "reject" ? " (rejected as expected: repeated location)" : "";
      if (problems.length === 0) {
        ok += 1;
        console.log(`ok      ${label}${verdict}`);
      } else {
        failing += 1;
        console.log(`FAILED  ${label}`);
        for (const problem of problems) console.log(`  fail: ${problem}`);
      }
    }

    // Harness self-test: the rejection check above only means something if
    // this viewer really rejects repeated locations and the check notices.
    // Take the first accepted heap file with two or more points, give its
    // second point the first one's fs, and require the rejection.
    const sample = entries.find((e) => e.expect === "accept" && e.heap && e.points >= 2);
    if (sample) {
      const data = JSON.parse(fs.readFileSync(sample.path, "utf8"));
      data.pps[1].fs = [...data.pps[0].fs];
      const mutated = path.join(scratch, "repeated-location.json");
      fs.writeFileSync(mutated, JSON.stringify(data));
      const entry = { ...sample, file: "self-test-repeated-location", expect: "reject", expectedError: "data file contains a repeated location" };
      const problems = judge(entry, await load(page, viewerUrl, mutated));
      await page.screenshot({ path: path.join(screenshotDir, screenshotName(entry)) });
      if (problems.length === 0) {
        ok += 1;
        console.log(`ok      harness self-test: a copy of ${sample.variant} ${sample.scenario} ${sample.file} with a repeated fs is rejected`);
      } else {
        failing += 1;
        console.log(`FAILED  harness self-test (repeated fs): ${problems.join("; ")}`);
      }
    }
  } finally {
    await context.close();
    fs.rmSync(scratch, { recursive: true, force: true });
    fs.rmSync(profile, { recursive: true, force: true });
  }
  console.log(`viewer: ${ok} ok, ${failing} failing; screenshots in ${screenshotDir}`);
  console.log(`VIEWER-COUNTS passed=${ok} failed=${failing}`);
  process.exit(failing === 0 ? 0 : 1);
}

main().catch((error) => fail(error.stack || String(error)));
