/**
 * Command-line options shared by every benchmark script.
 *
 * `--quick` trades precision for time (fewer, shorter rounds) so that the whole
 * suite finishes in under two minutes; figures from a quick run are marked as
 * such in the results and in docs/benchmarks.md.
 */

/**
 * @typedef {object} BenchOptions
 * @property {boolean} quick
 * @property {number} rounds timed windows per contender
 * @property {number} windowMs length of one window
 * @property {number} warmupMs untimed run before the first window
 * @property {number} wallFactor a CPU-time window ends after at most this many
 *   times its length in wall time (on a busy machine, CPU time accrues slowly)
 */

/** @param {readonly string[]} argv @returns {BenchOptions} */
export function benchOptions(argv = process.argv.slice(2)) {
  const quick = argv.includes('--quick');
  return quick
    ? { quick, rounds: 3, windowMs: 200, warmupMs: 100, wallFactor: 3 }
    : { quick, rounds: 7, windowMs: 1000, warmupMs: 500, wallFactor: 10 };
}
