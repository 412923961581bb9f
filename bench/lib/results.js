/**
 * Benchmark results: the JSON each script writes to bench/results/<name>.json,
 * and the console table it prints. bench/README.md documents the shape; the
 * report generator (report.js) reads nothing else.
 *
 * A `--quick` run writes to bench/results/quick/ instead (not committed), so that
 * a smoke test never replaces the figures of a full run.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './built.js';

export const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');
export const QUICK_RESULTS_DIR = join(RESULTS_DIR, 'quick');

/** Where this process's results go: the quick directory when it runs with --quick. */
export function resultsDir(argv = process.argv) {
  return argv.includes('--quick') ? QUICK_RESULTS_DIR : RESULTS_DIR;
}

/**
 * @typedef {object} ResultRow
 * @property {string} id
 * @property {string} label
 * @property {'ok' | 'not available'} status
 * @property {number} [median] @property {number} [min] @property {number} [max]
 * @property {number[]} [samples]
 * @property {number | null} [ratio] median divided by the group peer's median
 * @property {string} [note] @property {string} [reason] why it is not available
 */

/**
 * @typedef {object} ResultGroup
 * @property {string} id @property {string} title @property {string} unit
 * @property {string} peer id of the row the ratios are relative to
 * @property {ResultRow[]} rows
 */

/**
 * Attaches ratios to the group's peer. A row or peer without figures gets null.
 * @param {ResultGroup} group
 */
export function withRatios(group) {
  const peer = group.rows.find((row) => row.id === group.peer);
  const base = peer?.status === 'ok' ? peer.median : undefined;
  for (const row of group.rows) {
    row.ratio = base !== undefined && row.status === 'ok' ? row.median / base : null;
  }
  return group;
}

/**
 * A row from measured figures, or a "not available" row with its reason.
 * @param {string} id @param {string} label
 * @param {import('./measure.js').Figures | undefined} figures
 * @param {{ note?: string, reason?: string }} [extra]
 * @returns {ResultRow}
 */
export function row(id, label, figures, extra = {}) {
  if (figures === undefined) {
    return { id, label, status: 'not available', reason: extra.reason ?? 'not measured' };
  }
  return {
    id,
    label,
    status: 'ok',
    median: figures.median,
    min: figures.min,
    max: figures.max,
    samples: figures.samples.map((s) => Math.round(s)),
    ...(figures.wallMedian === undefined ? {} : { wallMedian: Math.round(figures.wallMedian) }),
    ...(extra.note === undefined ? {} : { note: extra.note }),
  };
}

/**
 * Marks the start of a benchmark; `finish()` gives the fields every result file
 * carries about its run: start time, duration, the 1-minute load average at start
 * and end (other processes on the machine), and this process's peak memory.
 */
export function startRun() {
  const started = Date.now();
  const loadAtStart = loadavg()[0];
  return {
    finish: () => ({
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      loadAverage: { start: round2(loadAtStart), end: round2(loadavg()[0]) },
      memory: { maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) },
    }),
  };
}

function round2(value) {
  return Math.round(value * 100) / 100;
}

/** Writes <dir>/<name>.json atomically (a reader never sees half a file). */
export function writeResult(result, dir = resultsDir()) {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${result.name}.json`);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return file;
}

/** Reads <dir>/<name>.json, or undefined when there is none (or it is not JSON). */
export function readResult(name, dir = resultsDir()) {
  try {
    return JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Formats an ops/s figure with thousands separators. */
export function formatRate(value) {
  return Math.round(value).toLocaleString('en-US');
}

/** @param {number | null | undefined} ratio */
export function formatRatio(ratio) {
  return ratio === null || ratio === undefined ? '–' : `${ratio.toFixed(2)}×`;
}

/** Prints a group as an aligned console table. @param {ResultGroup} group */
export function printGroup(group) {
  const peer = group.rows.find((r) => r.id === group.peer);
  const lines = [['', `median ${group.unit}`, 'min', 'max', `× ${peer?.label ?? 'peer'}`]];
  for (const r of group.rows) {
    lines.push(
      r.status === 'ok'
        ? [
            r.label,
            formatRate(r.median),
            formatRate(r.min),
            formatRate(r.max),
            formatRatio(r.ratio),
          ]
        : [r.label, `not available (${r.reason})`, '', '', ''],
    );
  }
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  console.log(`\n${group.title}`);
  for (const l of lines) {
    console.log(
      l.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '),
    );
  }
}

/**
 * A target from an issue, evaluated against the measured ratio.
 * @param {{ issue: number, description: string, group: ResultGroup, row: string, against: string, threshold: number }} spec
 */
export function target(spec) {
  const mine = spec.group.rows.find((r) => r.id === spec.row);
  const theirs = spec.group.rows.find((r) => r.id === spec.against);
  const measured = mine?.status === 'ok' && theirs?.status === 'ok';
  const ratio = measured ? mine.median / theirs.median : null;
  return {
    issue: spec.issue,
    description: spec.description,
    group: spec.group.id,
    row: spec.row,
    against: spec.against,
    threshold: spec.threshold,
    ratio,
    met: ratio === null ? null : ratio >= spec.threshold,
  };
}

/** Prints targets as met / missed lines. */
export function printTargets(targets) {
  for (const t of targets) {
    const verdict = t.met === null ? 'NOT MEASURED' : t.met ? 'met' : 'MISSED';
    console.log(`target (issue ${t.issue}) ${t.description}: ${formatRatio(t.ratio)} → ${verdict}`);
  }
}
