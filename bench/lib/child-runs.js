/**
 * Pieces the size-scaling benchmarks (rotation, adoption) share: each operation
 * in its own child process (so its peak RSS is its own), size labels, targets
 * stated by hand, and the peak-RSS group across dialects and sizes.
 */
import { spawnSync } from 'node:child_process';
import { DIALECTS } from './databases.js';
import { summarise } from './measure.js';
import { row, withRatios } from './results.js';

/** KiB (process.resourceUsage().maxRSS) to MiB, one decimal. @param {number} kib */
export function mib(kib) {
  return Math.round((kib / 1024) * 10) / 10;
}

/** 100000 → "100k", 1000000 → "1M". @param {number} n */
export function sizeLabel(n) {
  return n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`;
}

/**
 * Runs `script --child ...args` and returns the JSON of its last stdout line.
 * @param {string} script @param {(string | number)[]} args
 */
export function runChild(script, args) {
  const out = spawnSync(process.execPath, ['--expose-gc', script, '--child', ...args.map(String)], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (out.status !== 0) throw new Error(`child ${args[0]} failed (${out.status ?? out.signal})`);
  return JSON.parse(out.stdout.trim().split('\n').at(-1) ?? 'null');
}

/**
 * A target whose ratio the benchmark computes itself.
 * @param {number} issue @param {string} description @param {number | null} ratio @param {number} threshold
 */
export function manualTarget(issue, description, ratio, threshold) {
  return { issue, description, ratio, threshold, met: ratio === null ? null : ratio >= threshold };
}

/**
 * Peak RSS per dialect and size, as ratios to SQLite's smallest size.
 * @param {string} title @param {readonly number[]} sizes @param {string} noun "secrets", "rows"
 * @param {(dialect: string, size: number) => number | undefined} rssOf
 */
export function rssGroup(title, sizes, noun, rssOf) {
  return withRatios({
    id: 'rss',
    title,
    unit: 'MiB',
    peer: `sqlite-${sizes[0]}`,
    rows: DIALECTS.flatMap((dialect) =>
      sizes.map((size) => {
        const rss = rssOf(dialect, size);
        return row(
          `${dialect}-${size}`,
          `${dialect}, ${sizeLabel(size)} ${noun}`,
          rss === undefined ? undefined : summarise([rss]),
        );
      }),
    ),
  });
}
