/**
 * Shared pieces of the backup tests: stores on both dialects, in-memory sinks for
 * exports, a fingerprint of everything a store holds (to prove "nothing was
 * written"), and the stock `age` binary.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { Encrypter } from 'age-encryption';
import {
  generateMasterKey,
  Keyring,
  type Lockbox,
  type LockboxSchema,
  openLockbox,
} from '../../src/index.js';
import { drivers, type TestDatabase } from '../helpers/databases.js';

export function newKeyring(): Keyring {
  return Keyring.fromBytes(generateMasterKey());
}

export async function open(database: TestDatabase, keyring: Keyring): Promise<Lockbox> {
  return openLockbox({ database: database.url, drivers, keyring });
}

/** A WritableStream that collects what is written; `bytes()` after it closes. */
export function memorySink(): { sink: WritableStream<Uint8Array>; bytes: () => Buffer } {
  const chunks: Uint8Array[] = [];
  return {
    sink: new WritableStream<Uint8Array>({
      write(chunk) {
        chunks.push(Uint8Array.from(chunk));
      },
    }),
    bytes: () => Buffer.concat(chunks),
  };
}

const TABLES: (keyof LockboxSchema)[] = [
  'lockbox_meta',
  'lockbox_master_keys',
  'lockbox_data_keys',
  'lockbox_secrets',
  'lockbox_fields',
  'lockbox_locks',
  'lockbox_audit',
];

/** A digest of every Lockbox table's rows, in a stable order (both dialects). */
export async function storeDigest(lockbox: Lockbox): Promise<string> {
  const hash = createHash('sha256');
  for (const table of TABLES) {
    const rows = await lockbox.vault.store.db.selectFrom(table).selectAll().execute();
    const lines = rows
      .map((r) =>
        JSON.stringify(Object.entries(r).sort(), (_k, v) =>
          typeof v === 'bigint' ? String(v) : v,
        ),
      )
      .sort();
    hash.update(`${table}\n${lines.join('\n')}\n`);
  }
  return hash.digest('hex');
}

/** The SQLite file's bytes (the store must be closed, so the WAL is checkpointed). */
export function fileBytes(database: TestDatabase): Buffer | undefined {
  return database.file === undefined ? undefined : readFileSync(database.file);
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

export const AGE = findOnPath('age');
export const IN_CI = !['', '0', 'false', undefined].includes(process.env.CI);

export const AGE_KEYGEN = findOnPath('age-keygen');

/** Runs the stock `age` (or `age-keygen`) with `input` on stdin; resolves with stdout. */
export async function runAge(
  args: string[],
  input: Uint8Array | string,
  tool: 'age' | 'age-keygen' = 'age',
): Promise<Buffer> {
  const path = tool === 'age' ? AGE : AGE_KEYGEN;
  if (path === undefined) {
    throw new Error(`\`${tool}\` is not on PATH (CI must install it: apt-get install age)`);
  }
  const child = promisify(execFile)(path, args, { encoding: 'buffer', maxBuffer: 64 << 20 });
  child.child.stdin?.end(input);
  return (await child).stdout;
}

/** JSON-lines text for a bundle with these records (header and trailer added unless told). */
export function bundleText(
  records: readonly object[],
  options: { header?: object | null; trailer?: boolean } = {},
): string {
  const header =
    options.header === undefined ? { format: 'lockbox-bundle', version: 1 } : options.header;
  const lines = [
    ...(header === null ? [] : [header]),
    ...records,
    ...(options.trailer === false ? [] : [{ end: true, records: records.length }]),
  ];
  return lines.map((l) => `${JSON.stringify(l)}\n`).join('');
}

/** Encrypts `text` to `recipient` as age (what `age -r` does), with the library. */
export async function ageEncrypt(text: string | Uint8Array, recipient: string): Promise<Buffer> {
  const encrypter = new Encrypter();
  encrypter.addRecipient(recipient);
  return Buffer.from(await encrypter.encrypt(text));
}

/** Seeds `count` secrets quickly (through a bundle import), over `scopes` scopes. */
export async function seed(lockbox: Lockbox, count: number, scopes = 7): Promise<void> {
  const { generateAgeIdentity } = await import('../../src/keys/age-identity.js');
  const pair = await generateAgeIdentity();
  const records = Array.from({ length: count }, (_, i) => ({
    scope: `scope-${i % scopes}`,
    name: `name-${i}`,
    value: `value-${i}-${'x'.repeat(i % 97)}`,
  }));
  const bundle = await ageEncrypt(bundleText(records), pair.recipient);
  await lockbox.backup.apply(bundle, { decryption: { identities: [pair.identity] } });
}
