/**
 * Shared pieces of the backup tests: stores on both dialects, in-memory sinks for
 * exports, a fingerprint of everything a store holds (to prove "nothing was
 * written"), bundles.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Lockbox } from '@lockbox/core';
import type { LockboxSchema } from '@lockbox/core/hazmat';
import type { TestDatabase } from '@lockbox/test-helpers';
import { Encrypter } from 'age-encryption';

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
