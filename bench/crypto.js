import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import { decryptStringSync, encryptStringSync, generateKey, parseKeySync } from '@47ng/cloak';
import fernet from 'fernet';
import { importBuilt } from './lib/built.js';
import { compare, median, summarise } from './lib/measure.js';
import { benchOptions } from './lib/options.js';
import { runPythonPeer } from './lib/python-peer.js';
import {
  printGroup,
  printTargets,
  row,
  startRun,
  target,
  withRatios,
  writeResult,
} from './lib/results.js';

const core = await importBuilt('core');
const options = { ...benchOptions(), clock: /** @type {const} */ ('cpu') };
const SIZES = [
  { id: '64B', bytes: 64, title: 'Round trips/s, 64-byte text secret' },
  { id: '1KiB', bytes: 1024, title: 'Round trips/s, 1 KiB text secret' },
];

/** A printable secret of exactly `bytes` UTF-8 bytes, like an API key. */
function secretOfSize(bytes) {
  return `sk-${randomBytes(bytes).toString('base64url')}`.slice(0, bytes);
}

function lockboxRoundTrip() {
  const key = createSecretKey(randomBytes(32));
  const keyId = randomBytes(8);
  return (text) => {
    const sealed = core.encryptToText(
      keyId,
      key,
      Buffer.from(text, 'utf8'),
      core.secretContext('user:42', 'openai-api-key'),
    );
    const parsed = core.parseCiphertext(sealed);
    return core
      .decryptParsed(parsed, key, core.secretContext('user:42', 'openai-api-key'))
      .toString('utf8');
  };
}

function plainRoundTrip() {
  const key = randomBytes(32);
  return (text) => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const ciphertext = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  };
}

function tunedRoundTrip() {
  const key = createSecretKey(randomBytes(32));
  let pool = Buffer.alloc(0);
  let offset = 0;
  return (text) => {
    if (offset + 12 > pool.length) {
      pool = randomBytes(12 * 4096);
      offset = 0;
    }
    const iv = pool.subarray(offset, offset + 12);
    offset += 12;
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const ciphertext = cipher.update(text, 'utf8');
    cipher.final();
    const tag = cipher.getAuthTag();
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAuthTag(tag);
    const plaintext = decipher.update(ciphertext);
    decipher.final();
    return plaintext.toString('utf8');
  };
}

function cloakRoundTrip() {
  const key = parseKeySync(generateKey());
  return (text) => decryptStringSync(encryptStringSync(text, key), key);
}

function fernetRoundTrip() {
  const secret = new fernet.Secret(randomBytes(32).toString('base64'));
  return (text) => {
    const token = new fernet.Token({ secret, ttl: 0 }).encode(text);
    return new fernet.Token({ secret, token, ttl: 0 }).decode();
  };
}

const CONTENDERS = [
  { id: 'lockbox', label: 'Lockbox (text format, AAD)', make: lockboxRoundTrip },
  { id: 'plain', label: 'node:crypto plain loop', make: plainRoundTrip },
  { id: 'tuned', label: 'node:crypto tuned loop', make: tunedRoundTrip },
  { id: 'cloak', label: '@47ng/cloak', make: cloakRoundTrip },
  { id: 'fernet-npm', label: 'fernet (npm)', make: fernetRoundTrip },
];

/** Python's Fernet in a child process; figures per size, or the reason it did not run. */
function pythonFernet() {
  return runPythonPeer('python-fernet.py', [
    options.rounds,
    options.windowMs,
    options.warmupMs,
    options.wallFactor,
    ...SIZES.map((s) => s.bytes),
  ]);
}

const run = startRun();
const groups = [];
for (const size of SIZES) {
  const text = secretOfSize(size.bytes);
  const contenders = CONTENDERS.map((c) => {
    const roundTrip = c.make();
    if (roundTrip(text) !== text) throw new Error(`${c.label} did not round-trip the secret`);
    return { id: c.id, label: c.label, run: () => roundTrip(text) };
  });
  console.log(`\n${size.title}: ${options.rounds} rounds of ${options.windowMs} ms CPU time`);
  const figures = await compare(contenders, { ...options, log: console.log });
  groups.push({
    id: size.id,
    title: size.title,
    unit: 'round trips/s',
    peer: 'plain',
    rows: CONTENDERS.map((c) => row(c.id, c.label, figures.get(c.id))),
  });
}

console.log('\nPython cryptography Fernet (child process)…');
const python = pythonFernet();
for (const [index, size] of SIZES.entries()) {
  const label = python.available ? `Python cryptography ${python.version} Fernet` : 'Python Fernet';
  const samples = python.available ? python.samples[String(size.bytes)] : undefined;
  const figures =
    samples === undefined
      ? undefined
      : { ...summarise(samples), wallMedian: median(python.wall[String(size.bytes)]) };
  groups[index].rows.push(
    row('fernet-python', label, figures, { reason: python.reason ?? 'not available' }),
  );
  withRatios(groups[index]);
  printGroup(groups[index]);
}

const small = groups[0];
const targets = [
  target({
    issue: 2,
    description: 'Lockbox ≥ 1.2× the plain node:crypto loop, 64-byte text secret',
    group: small,
    row: 'lockbox',
    against: 'plain',
    threshold: 1.2,
  }),
  target({
    issue: 2,
    description: 'Lockbox ≥ 2× @47ng/cloak, 64-byte text secret',
    group: small,
    row: 'lockbox',
    against: 'cloak',
    threshold: 2,
  }),
];
console.log('');
printTargets(targets);

const file = writeResult({
  name: 'crypto',
  title: 'Encryption: encrypt + decrypt round trips',
  issue: 2,
  command: 'npm run bench -- --only crypto',
  quick: options.quick,
  method: {
    rounds: options.rounds,
    windowMs: options.windowMs,
    warmupMs: options.warmupMs,
    clock: /** @type {const} */ ('cpu'),
    wallFactor: options.wallFactor,
  },
  ...run.finish(),
  groups,
  targets,
  notes: [
    'Throughput is per second of the benchmark process’s CPU time (user + system, GC threads included): every contender is single-threaded and CPU-bound, and CPU time keeps the share of the CPU that other processes take out of the figures. Wall-clock medians are in bench/results/crypto.json (wallMedian).',
    'Lockbox includes the UTF-8 and base64url text encoding, associated data and the secret context built per call; the node:crypto loops are binary, without associated data.',
    'Ratios are relative to the plain node:crypto loop (createCipheriv/createDecipheriv with randomBytes(12) per call).',
    '@47ng/cloak is measured through its synchronous Node API with a pre-parsed key, its fastest path.',
  ],
});
console.log(`\nwrote ${file}`);
