/**
 * `npm run bench`: runs every benchmark, each in its own node process (so one
 * benchmark's heap and memory figures never colour another's), then regenerates
 * docs/benchmarks.md and its charts from bench/results/*.json.
 *
 * Usage: node --expose-gc bench/run.js [--quick] [--only crypto,vault] [--no-report]
 *   --quick      fewer, shorter rounds; the whole suite in under two minutes.
 *                Results go to bench/results/quick/, so the page shows a full
 *                run's figures wherever there is one
 *   --only LIST  run these benchmarks; the others keep their last results
 *   --no-report  leave docs/benchmarks.md alone
 *
 * A benchmark script that does not exist yet is recorded as "not run"; one that
 * fails without writing results is recorded as "failed", so the page never shows
 * old figures as if they were this run's.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { builtEntry, isBuilt, REPO_ROOT } from './lib/built.js';
import { describeMachine } from './lib/machine.js';
import { BENCHMARKS, writeReport } from './lib/report.js';
import { formatRatio, RESULTS_DIR, readResult, resultsDir, writeResult } from './lib/results.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const onlyAt = argv.indexOf('--only');
const only = onlyAt === -1 ? undefined : (argv[onlyAt + 1] ?? '').split(',').filter(Boolean);
const unknown = (only ?? []).filter((name) => !BENCHMARKS.includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${BENCHMARKS.join(', ')}`);
  process.exit(2);
}
/** Per benchmark; a full run of the slowest (re-encryption at 1M rows) takes minutes. */
const TIMEOUT_MS = quick ? 90_000 : 30 * 60_000;

if (!isBuilt('core')) {
  console.error(`${builtEntry('core')} does not exist: run \`npm run build\` first.`);
  process.exit(2);
}

/** Newest modification time under a directory (0 when it does not exist). */
function newest(dir) {
  if (!existsSync(dir)) return 0;
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

for (const pkg of ['core', 'server']) {
  const root = join(REPO_ROOT, 'packages', pkg);
  if (existsSync(join(root, 'dist')) && newest(join(root, 'src')) > newest(join(root, 'dist'))) {
    console.warn(`warning: packages/${pkg}/src is newer than its dist; run \`npm run build\`.`);
  }
}

const started = Date.now();
const machine = await describeMachine();
writeResult({ name: 'machine', ...machine, run: { startedAt: new Date().toISOString(), quick } });
console.log(
  `${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB, node ${machine.node}, PostgreSQL ${machine.postgres}, load ${machine.loadAverage.join(' ')}`,
);

const summary = [];
for (const name of BENCHMARKS) {
  if (only !== undefined && !only.includes(name)) continue;
  const script = join(REPO_ROOT, 'bench', `${name}.js`);
  const resultFile = join(resultsDir(), `${name}.json`);
  if (!existsSync(script)) {
    writeResult({ name, status: 'not run', reason: `bench/${name}.js does not exist yet` });
    summary.push({ name, status: 'not run', seconds: 0 });
    continue;
  }
  console.log(`\n=== ${name} ===`);
  const t0 = Date.now();
  const child = spawnSync(
    process.execPath,
    ['--expose-gc', script, ...(quick ? ['--quick'] : [])],
    { stdio: 'inherit', cwd: REPO_ROOT, timeout: TIMEOUT_MS },
  );
  const seconds = Math.round((Date.now() - t0) / 100) / 10;
  const fresh = existsSync(resultFile) && statSync(resultFile).mtimeMs >= t0;
  const failed = child.status !== 0;
  if (failed && !fresh) {
    // The page must not show the old figures as this run's; they are kept under
    // `previous` in the file, so that a failure caused by work in progress
    // elsewhere in the tree loses nothing.
    const reason = child.error?.message ?? `exited with ${child.status ?? child.signal}`;
    const previous = readResult(name);
    writeResult({
      name,
      title: previous?.title,
      issue: previous?.issue,
      status: 'failed',
      reason,
      previous: previous?.status === 'failed' ? previous.previous : previous,
    });
  } else if (!fresh) {
    console.warn(`warning: bench/${name}.js wrote no bench/results/${name}.json`);
  }
  summary.push({ name, status: failed ? 'failed' : 'ok', seconds });
}

console.log('\nsummary');
for (const s of summary) console.log(`  ${s.name.padEnd(10)} ${s.status.padEnd(8)} ${s.seconds} s`);
for (const name of BENCHMARKS) {
  for (const t of readResult(name)?.targets ?? []) {
    const verdict =
      t.met === null || t.met === undefined ? 'not measured' : t.met ? 'met' : 'MISSED';
    console.log(
      `  target (issue ${t.issue}): ${t.description}: ${formatRatio(t.ratio)} ${verdict}`,
    );
  }
}
const seconds = Math.round((Date.now() - started) / 1000);
console.log(`total ${seconds} s`);
if (only === undefined) {
  // The whole suite's duration, kept per mode: issue 9 wants --quick under two minutes.
  const suite = readResult('suite', RESULTS_DIR) ?? { name: 'suite' };
  suite[quick ? 'quick' : 'full'] = {
    seconds,
    startedAt: new Date(started).toISOString(),
    loadAverage: machine.loadAverage,
    failed: summary.filter((s) => s.status === 'failed').map((s) => s.name),
  };
  writeResult(suite, RESULTS_DIR);
}
if (!argv.includes('--no-report')) {
  const written = writeReport();
  console.log(`\nwrote ${written[0]} and ${written.length - 1} chart(s)`);
}
if (summary.some((s) => s.status === 'failed')) process.exitCode = 1;
