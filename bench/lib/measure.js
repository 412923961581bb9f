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
 * Figures are operations per second: median, min and max over the rounds, by
 * wall-clock time or (clock 'cpu', for CPU-bound work on a shared machine) by
 * this process's CPU time.
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
 * @property {number} [wallMedian] the wall-clock median, when figures are CPU time
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

/** CPU seconds this process has used (user + system, all threads: GC helpers count too). */
function cpuSeconds() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/**
 * Runs one contender for a window; returns { wall, cpu } in ops/s. With
 * clock 'cpu' the window lasts `ms` of this process's CPU time (at most
 * `wallFactor` times that in wall time), so that a share of the CPU lost to
 * other processes neither shortens the work measured nor counts as time spent.
 * @param {Contender} contender
 * @param {{ next: number }} counter the contender's running operation index
 * @param {number} ms
 * @param {'wall' | 'cpu'} clock
 * @param {number} wallFactor
 */
async function window(contender, counter, ms, clock, wallFactor) {
  globalThis.gc?.();
  if (contender.measureWindow !== undefined) {
    const rate = await contender.measureWindow(ms);
    return { wall: rate, cpu: rate };
  }
  const start = performance.now();
  const cpuStart = cpuSeconds();
  const wallEnd = start + (clock === 'cpu' ? wallFactor * ms : ms);
  const cpuEnd = clock === 'cpu' ? cpuStart + ms / 1000 : Number.POSITIVE_INFINITY;
  let ops = 0;
  let now = start;
  let cpu = cpuStart;
  if (contender.async === true) {
    while (now < wallEnd && cpu < cpuEnd) {
      await contender.run(counter.next++);
      ops++;
      now = performance.now();
      if (clock === 'cpu') cpu = cpuSeconds();
    }
  } else {
    while (now < wallEnd && cpu < cpuEnd) {
      for (let i = 0; i < SYNC_BATCH; i++) contender.run(counter.next++);
      ops += SYNC_BATCH;
      now = performance.now();
      if (clock === 'cpu') cpu = cpuSeconds();
    }
  }
  cpu = cpuSeconds();
  return { wall: (ops * 1000) / (now - start), cpu: ops / (cpu - cpuStart) };
}

/**
 * Measures contenders against each other.
 * @param {Contender[]} contenders
 * Figures follow `options.clock` (default 'wall'); each also carries the wall-clock
 * median as `wallMedian`, so a CPU-time figure can be read beside it.
 * @param {{ rounds: number, windowMs: number, warmupMs: number, clock?: 'wall' | 'cpu', wallFactor?: number, log?: (line: string) => void }} options
 * @returns {Promise<Map<string, Figures>>}
 */
export async function compare(contenders, options) {
  const clock = options.clock ?? 'wall';
  const wallFactor = options.wallFactor ?? 10;
  const counters = new Map(contenders.map((c) => [c.id, { next: 0 }]));
  for (const contender of contenders) {
    await window(contender, counters.get(contender.id), options.warmupMs, clock, wallFactor);
  }
  const samples = new Map(contenders.map((c) => [c.id, []]));
  const wall = new Map(contenders.map((c) => [c.id, []]));
  for (let round = 0; round < options.rounds; round++) {
    const shift = round % contenders.length;
    const order = [...contenders.slice(shift), ...contenders.slice(0, shift)];
    for (const contender of order) {
      const rate = await window(
        contender,
        counters.get(contender.id),
        options.windowMs,
        clock,
        wallFactor,
      );
      samples.get(contender.id).push(rate[clock]);
      wall.get(contender.id).push(rate.wall);
    }
    options.log?.(`  round ${round + 1}/${options.rounds} done`);
  }
  return new Map(
    contenders.map((c) => [
      c.id,
      { ...summarise(samples.get(c.id)), wallMedian: median(wall.get(c.id)) },
    ]),
  );
}
