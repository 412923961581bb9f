/**
 * HSM benchmark (issue 17): a master key on a PKCS#11 token (SoftHSM2, a token
 * initialised here in a temporary SOFTHSM2_CONF) beside a key file, same run,
 * on SQLite and PostgreSQL, with 10,000 data keys (one per scope):
 *
 * - master rotation time: file → file (the peer), file → HSM, HSM → file;
 * - warm `secrets.get` (every data key already cached, so the master key is not
 *   asked): must not change with the provider;
 * - cold reads: a fresh handle reads one secret of every scope, so every read
 *   unwraps its data key with the master key — in the module for the HSM key.
 *
 * Usage: node --expose-gc bench/hsm.js [--quick]   (--quick: 1,000 data keys)
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { importBuilt } from './lib/built.js';
import { DIALECTS, drivers, freshDatabase } from './lib/databases.js';
import { summarise } from './lib/measure.js';
import { benchOptions } from './lib/options.js';
import {
  printGroup,
  printTargets,
  row,
  startRun,
  target,
  withRatios,
  writeResult,
} from './lib/results.js';

const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const ROUNDS = 3;
const WARM_READS = 20_000;

const core = await importBuilt('core');
const options = benchOptions();
const scopes = options.quick ? 1000 : 10_000;

/**
 * A SoftHSM2 token in a directory of this run (once: the module reads its
 * configuration when it is first loaded); returns a function making a new key on it.
 */
function hsmToken(dir) {
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens, { mode: 0o700 });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\n`, {
    mode: 0o600,
  });
  process.env.SOFTHSM2_CONF = conf;
  const pin = randomBytes(8).toString('hex');
  execFileSync('softhsm2-util', [
    '--init-token',
    '--free',
    '--label',
    'lockbox-bench',
    '--pin',
    pin,
    '--so-pin',
    randomBytes(8).toString('hex'),
  ]);
  const pinFile = join(dir, 'pin');
  writeFileSync(pinFile, `${pin}\n`, { mode: 0o600 });
  return (object) =>
    core.generatePkcs11MasterKey(
      `pkcs11:token=lockbox-bench;object=${object}?module-path=${MODULE}&pin-source=file:${pinFile}`,
    );
}

async function open(url, key, previous = []) {
  return core.openLockbox({ database: url, drivers, keyring: new core.Keyring(key, previous) });
}

/** Milliseconds of one master rotation from `from` to `to`, on a fresh handle. */
async function rotation(url, from, to) {
  const lockbox = await open(url, from, [to]);
  try {
    const t0 = performance.now();
    await lockbox.rotation.rotateMaster({ oldKey: from, newKey: to });
    return performance.now() - t0;
  } finally {
    await lockbox.close();
  }
}

/** Reads/s: a fresh handle reads one secret of every scope (every read unwraps). */
async function coldReads(url, key) {
  const lockbox = await open(url, key);
  try {
    const t0 = performance.now();
    for (let i = 0; i < scopes; i++) await lockbox.secrets.get(scopeName(i), 'token');
    return scopes / ((performance.now() - t0) / 1000);
  } finally {
    await lockbox.close();
  }
}

/** Reads/s of secrets.get with every data key cached (the master key is never asked). */
async function warmReads(url, key) {
  const lockbox = await open(url, key);
  try {
    for (let i = 0; i < 100; i++) await lockbox.secrets.get(scopeName(i), 'token');
    const t0 = performance.now();
    for (let i = 0; i < WARM_READS; i++) await lockbox.secrets.get(scopeName(i % 100), 'token');
    return WARM_READS / ((performance.now() - t0) / 1000);
  } finally {
    await lockbox.close();
  }
}

function scopeName(i) {
  return `tenant:${String(i).padStart(6, '0')}`;
}

async function measure(dialect, newHsmKey) {
  const database = await freshDatabase(dialect);
  try {
    const fileA = core.masterKeyFrom(randomBytes(32));
    const fileB = core.masterKeyFrom(randomBytes(32));
    const hsm = await newHsmKey(`kek-${dialect}`);
    const seeded = await open(database.url, fileA);
    for (let i = 0; i < scopes; i++) await seeded.secrets.set(scopeName(i), 'token', `sk-${i}`);
    await seeded.close();
    const times = { fileToFile: [], fileToHsm: [], hsmToFile: [] };
    let current = fileA;
    for (let round = 0; round < ROUNDS; round++) {
      const next = round === 0 ? fileB : core.masterKeyFrom(randomBytes(32));
      times.fileToFile.push(await rotation(database.url, current, next));
      times.fileToHsm.push(await rotation(database.url, next, hsm));
      current = core.masterKeyFrom(randomBytes(32));
      times.hsmToFile.push(await rotation(database.url, hsm, current));
    }
    const cold = { file: [], hsm: [] };
    const warm = { file: [], hsm: [] };
    for (let round = 0; round < ROUNDS; round++) {
      cold.file.push(await coldReads(database.url, current));
      warm.file.push(await warmReads(database.url, current));
      await rotation(database.url, current, hsm);
      cold.hsm.push(await coldReads(database.url, hsm));
      warm.hsm.push(await warmReads(database.url, hsm));
      await rotation(database.url, hsm, current);
    }
    console.log(
      `${dialect}: rotation file→file ${Math.round(summarise(times.fileToFile).median)} ms, file→HSM ${Math.round(summarise(times.fileToHsm).median)} ms; cold reads file ${Math.round(summarise(cold.file).median)}/s, HSM ${Math.round(summarise(cold.hsm).median)}/s`,
    );
    return { times, cold, warm };
  } finally {
    await database.drop();
  }
}

if (!existsSync(MODULE)) {
  console.error(`${MODULE} does not exist: apt-get install softhsm2`);
  process.exit(2);
}
const run = startRun();
const dir = mkdtempSync(join(tmpdir(), 'lockbox-bench-hsm-'));
const groups = [];
const targets = [];
try {
  const newHsmKey = hsmToken(dir);
  for (const dialect of DIALECTS) {
    const m = await measure(dialect, newHsmKey);
    const rotations = withRatios({
      id: `rotation-${dialect}`,
      title: `Master rotation of ${scopes.toLocaleString('en-US')} data keys on ${dialect}, milliseconds (lower is better)`,
      unit: 'ms',
      peer: 'file-file',
      rows: [
        row('file-file', 'key file → key file', summarise(m.times.fileToFile)),
        row('file-hsm', 'key file → SoftHSM2 key', summarise(m.times.fileToHsm)),
        row('hsm-file', 'SoftHSM2 key → key file', summarise(m.times.hsmToFile)),
      ],
    });
    const cold = withRatios({
      id: `cold-${dialect}`,
      title: `Cold reads on ${dialect} (each unwraps its data key), reads/s`,
      unit: 'reads/s',
      peer: 'file',
      rows: [
        row('file', 'master key in a key file', summarise(m.cold.file)),
        row('hsm', 'master key in SoftHSM2', summarise(m.cold.hsm)),
      ],
    });
    const warm = withRatios({
      id: `warm-${dialect}`,
      title: `Warm secrets.get on ${dialect} (data keys cached), reads/s`,
      unit: 'reads/s',
      peer: 'file',
      rows: [
        row('file', 'master key in a key file', summarise(m.warm.file)),
        row('hsm', 'master key in SoftHSM2', summarise(m.warm.hsm)),
      ],
    });
    groups.push(rotations, cold, warm);
    targets.push(
      target({
        issue: 17,
        description: `warm secrets.get on ${dialect} unchanged with the HSM key (within 10%: ratio ≥ 0.9)`,
        group: warm,
        row: 'hsm',
        against: 'file',
        threshold: 0.9,
      }),
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
for (const group of groups) printGroup(group);
printTargets(targets);
writeResult({
  name: 'hsm',
  title: 'HSM: a PKCS#11 master key beside a key file',
  issue: 17,
  command: 'npm run bench -- --only hsm',
  quick: options.quick,
  ...run.finish(),
  groups,
  targets,
  notes: [
    `${scopes.toLocaleString('en-US')} scopes with one secret each (one data key per scope), written through secrets.set.`,
    `Master rotations: ${ROUNDS} rounds of file → file, file → HSM and HSM → file, each on a fresh handle (auto mode: atomic).`,
    `Cold reads: a fresh handle reads every scope's secret once; warm reads: ${WARM_READS.toLocaleString('en-US')} gets over 100 cached scopes.`,
    'The HSM is SoftHSM2 (software, same machine): a network HSM adds its round trip to every unwrap and rewrap.',
  ],
});
