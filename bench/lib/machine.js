/**
 * The machine a run happened on, recorded with the results so that figures are
 * never read without their context: CPU, cores, memory, versions of node,
 * PostgreSQL, SQLite and Python's cryptography, and the load average (other
 * processes share the CPU; the same-run ratios absorb most of that, absolute
 * figures do not).
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { postgresVersion, sqliteVersion } from './databases.js';

function pythonCryptography() {
  const probe = spawnSync(
    '/usr/bin/python3',
    ['-c', 'import sys, cryptography; print(sys.version.split()[0], cryptography.__version__)'],
    { encoding: 'utf8' },
  );
  if (probe.status !== 0) return 'not available';
  const [python, cryptography] = probe.stdout.trim().split(' ');
  return `cryptography ${cryptography} (Python ${python})`;
}

export async function describeMachine() {
  const cores = cpus();
  return {
    cpu: cores[0]?.model.trim() ?? 'unknown',
    cores: cores.length,
    ramGiB: Math.round(totalmem() / 2 ** 30),
    os: `${type()} ${release()}`,
    node: process.version,
    postgres: (await postgresVersion()) ?? 'not reachable',
    sqlite: sqliteVersion(),
    python: pythonCryptography(),
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
