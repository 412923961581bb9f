/**
 * CLI start-up (issue 12): wall time of one `lockbox get <scope> <name>` process
 * against an initialised SQLite store with a master key file, beside the bare
 * start of node (`node -e ""`, the raw limit) in the same run, each spawned many
 * times in alternation (so a burst of load on the shared machine hits both).
 *
 * Also timed, to say what start-up is made of: importing @lockbox/core alone, and
 * @lockbox/core then @lockbox/server (the cost `get` would pay if the CLI loaded
 * the server eagerly, as it once did); and `lockbox --version` (no store opened).
 *
 * Usage: node bench/cli.js [--quick]   (--quick: 8 runs after 1 warm-up)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { REPO_ROOT } from './lib/built.js';
import { summarise } from './lib/measure.js';
import { benchOptions } from './lib/options.js';
import { printGroup, row, startRun, withRatios, writeResult } from './lib/results.js';

const CLI = join(REPO_ROOT, 'packages', 'cli', 'dist', 'main.js');
const options = benchOptions();
const WARMUPS = options.quick ? 1 : 3;
const RUNS = options.quick ? 8 : 30;

if (!existsSync(CLI)) {
  console.error(`${CLI} does not exist: run \`npm run build\` first.`);
  process.exit(2);
}

/** The 90th percentile (nearest rank). @param {number[]} samples */
function p90(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.9) - 1)];
}

/** Milliseconds one process takes from spawn to exit; throws when it fails. */
function timeOnce(args) {
  const t0 = performance.now();
  const child = spawnSync(process.execPath, args, { cwd: REPO_ROOT, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (child.status !== 0) {
    throw new Error(`node ${args.join(' ')} exited with ${child.status}: ${child.stderr}`);
  }
  return { ms, stdout: child.stdout };
}

const dir = mkdtempSync(join(tmpdir(), 'lockbox-bench-cli-'));
const run = startRun();
let groups;
try {
  const store = ['--database', join(dir, 'store.db'), '--master-key-file', join(dir, 'master.key')];
  execFileSync(process.execPath, [CLI, ...store, 'init', '--key-file', join(dir, 'master.key')], {
    stdio: 'ignore',
  });
  execFileSync(process.execPath, [CLI, ...store, 'set', 'app', 'db-password'], {
    input: 'bench-value\n',
    stdio: ['pipe', 'ignore', 'inherit'],
  });

  const contenders = [
    { id: 'node', label: 'node -e "" (bare start)', args: ['-e', ''] },
    {
      id: 'lockbox-get',
      label: 'lockbox get app db-password',
      args: [CLI, ...store, 'get', 'app', 'db-password'],
      expect: 'bench-value\n',
    },
    { id: 'lockbox-version', label: 'lockbox --version', args: [CLI, '--version'] },
    {
      id: 'import-core',
      label: "import('@lockbox/core')",
      args: ['--input-type=module', '-e', "await import('@lockbox/core')"],
    },
    {
      id: 'import-core-server',
      label: "import('@lockbox/core') then import('@lockbox/server')",
      args: [
        '--input-type=module',
        '-e',
        "await import('@lockbox/core'); await import('@lockbox/server')",
      ],
    },
  ];
  for (const c of contenders) {
    const { stdout } = timeOnce(c.args);
    if (c.expect !== undefined && stdout !== c.expect) {
      throw new Error(`${c.label} printed ${JSON.stringify(stdout)}, not the stored value`);
    }
  }
  /** @type {Map<string, number[]>} */
  const samples = new Map(contenders.map((c) => [c.id, []]));
  for (let i = 0; i < WARMUPS + RUNS; i++) {
    // Order rotates every run, so no contender always follows another.
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(i + k) % contenders.length];
      const { ms } = timeOnce(c.args);
      if (i >= WARMUPS) samples.get(c.id)?.push(ms);
    }
  }
  const figures = (id) => summarise(samples.get(id) ?? []);
  const note = (id) => `p90 ${Math.round(p90(samples.get(id) ?? []))} ms`;
  const startup = withRatios({
    id: 'startup',
    title: `Process wall time, ms (lower is better; median of ${RUNS} runs after ${WARMUPS} warm-ups)`,
    unit: 'ms',
    peer: 'node',
    rows: contenders.map((c) => row(c.id, c.label, figures(c.id), { note: note(c.id) })),
  });
  groups = [startup];
  const median = (id) => startup.rows.find((r) => r.id === id)?.median ?? Number.NaN;
  const serverMs = median('import-core-server') - median('import-core');
  console.log(
    `lockbox get ${Math.round(median('lockbox-get'))} ms (${note('lockbox-get')}), bare node ${Math.round(median('node'))} ms; an eager server import would add ${Math.round(serverMs)} ms`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
for (const group of groups) printGroup(group);
const rows = groups[0].rows;
const ms = (id) => Math.round(rows.find((r) => r.id === id)?.median ?? Number.NaN);
writeResult({
  name: 'cli',
  title: 'CLI start-up: lockbox get beside a bare node start',
  issue: 12,
  command: 'npm run bench -- --only cli',
  quick: options.quick,
  ...run.finish(),
  groups,
  notes: [
    `Each process is spawned by this benchmark and timed from spawn to exit; ${WARMUPS} warm-up rounds, then ${RUNS} rounds, the contenders' order rotating every round.`,
    'lockbox get reads one secret from a SQLite store initialised by `lockbox init --key-file` (master key in a 0600 file), audited as every CLI read is.',
    `Loading @lockbox/server (Fastify, swagger, static files) costs ${ms('import-core-server') - ms('import-core')} ms beyond @lockbox/core: the CLI imports it only when \`serve\` runs, so no other command pays it.`,
  ],
});
