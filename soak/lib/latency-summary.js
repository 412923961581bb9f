/**
 * Latency figures for the report: count, p50, p90, p99 and max, in
 * milliseconds, by the nearest-rank method on the recorded samples (every
 * request is recorded; nothing is sampled away).
 */

/**
 * @typedef {object} LatencySummary
 * @property {number} count
 * @property {number | null} p50
 * @property {number | null} p90
 * @property {number | null} p99
 * @property {number | null} max
 */

/** @param {readonly number[]} samples @returns {LatencySummary} */
export function summarizeLatency(samples) {
  if (samples.length === 0) return { count: 0, p50: null, p90: null, p99: null, max: null };
  const sorted = Float64Array.from(samples).sort();
  /** @param {number} p */
  const rank = (p) => round(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]);
  return {
    count: sorted.length,
    p50: rank(0.5),
    p90: rank(0.9),
    p99: rank(0.99),
    max: round(sorted[sorted.length - 1]),
  };
}

/** @param {number | undefined} ms */
function round(ms) {
  return ms === undefined ? 0 : Math.round(ms * 100) / 100;
}
