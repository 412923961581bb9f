/**
 * Throughput measurement with peers in the same run.
 *
 * Every contender is measured in timed windows; one round gives each contender
 * one window, and the order of contenders rotates from round to round. Peers
 * therefore share the same machine state (other processes, CPU frequency, GC
 * pressure), and drift over the run lands on all of them alike. A full GC runs
 * before each window when node was started with --expose-gc.
 *
 * Contract: `run(i)` performs exactly one operation (i counts from 0 within the
 * contender); it may return a promise, which is awaited before the next call.
 * A contender may instead measure a whole window itself (`measureWindow`).
 * Figures are operations per second: median, min and max over the rounds.
 */

/**
 * @typedef {object} Contender
 * @property {string} id
 * @property {string} label
 * @property {(i: number) => unknown} [run]
 * @property {boolean} [async] run returns a promise (awaited one at a time)
 * @property {(ms: number) => Promise<number>} [measureWindow] measures one window
 *   itself and returns ops/s (for load that runs elsewhere, e.g. an HTTP client process)
 */

/**
 * @typedef {object} Figures
 * @property {number} median operations per second
 * @property {number} min
 * @property {number} max
 * @property {number[]} samples one ops/s figure per round, in round order
 */

/** Sync contenders check the clock once per batch so timing costs stay out of the figure. */
const SYNC_BATCH = 32;

/** @param {number[]} values */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** @param {number[]} samples @returns {Figures} */
export function summarise(samples) {
  return {
    median: median(samples),
    min: Math.min(...samples),
    max: Math.max(...samples),
    samples,
  };
}

/**
 * Runs one contender for `ms` milliseconds; returns ops/s.
 * @param {Contender} contender
 * @param {{ next: number }} counter the contender's running operation index
 * @param {number} ms
 */
async function window(contender, counter, ms) {
  globalThis.gc?.();
  if (contender.measureWindow !== undefined) return contender.measureWindow(ms);
  const start = performance.now();
  const end = start + ms;
  let ops = 0;
  let now = start;
  if (contender.async === true) {
    while (now < end) {
      await contender.run(counter.next++);
      ops++;
      now = performance.now();
    }
  } else {
    while (now < end) {
      for (let i = 0; i < SYNC_BATCH; i++) contender.run(counter.next++);
      ops += SYNC_BATCH;
      now = performance.now();
    }
  }
  return (ops * 1000) / (now - start);
}

/**
 * Measures contenders against each other.
 * @param {Contender[]} contenders
 * @param {{ rounds: number, windowMs: number, warmupMs: number, log?: (line: string) => void }} options
 * @returns {Promise<Map<string, Figures>>}
 */
export async function compare(contenders, options) {
  const counters = new Map(contenders.map((c) => [c.id, { next: 0 }]));
  for (const contender of contenders) {
    await window(contender, counters.get(contender.id), options.warmupMs);
  }
  const samples = new Map(contenders.map((c) => [c.id, []]));
  for (let round = 0; round < options.rounds; round++) {
    const shift = round % contenders.length;
    const order = [...contenders.slice(shift), ...contenders.slice(0, shift)];
    for (const contender of order) {
      const rate = await window(contender, counters.get(contender.id), options.windowMs);
      samples.get(contender.id).push(rate);
    }
    options.log?.(`  round ${round + 1}/${options.rounds} done`);
  }
  return new Map(contenders.map((c) => [c.id, summarise(samples.get(c.id))]));
}
