/**
 * The database-writer attacker: raw SQL on every Lockbox table, no master key.
 * Each attack is counted (tried / refused) so the suite can report the tally,
 * and every wrapped_recovery in the store can be tried with the attacker's age
 * identity against a canary secret.
 */
import { createSecretKey } from 'node:crypto';
import { type Keyring, type Lockbox, openLockbox } from '@lockbox/core';
import { decryptParsed, parseCiphertext, secretContext } from '@lockbox/core/hazmat';
import { drivers, type TestDatabase } from '@lockbox/test-helpers';
import { expect } from 'vitest';
import { unwrapWithIdentity } from '../../src/keys/age-identity.js';

export const CANARY = 'canary-db-writer-7f3a9c';

export function openStore(database: TestDatabase, keyring: Keyring): Promise<Lockbox> {
  return openLockbox({ database: database.url, drivers, keyring });
}

/** Attack tally across the file (printed by the suite's last test). */
export const tally = { tried: 0, refused: 0 };

/**
 * Runs one attack: `attempt` must be refused or detected — it returns normally
 * only after its own expectations proved that. Counted as tried, then refused.
 */
export async function attack(_name: string, attempt: () => Promise<void>): Promise<void> {
  tally.tried += 1;
  await attempt();
  tally.refused += 1;
}

/**
 * What an attacker holding `identity` gets from the store: every wrapped_recovery
 * they can open, tried against every secret. Returns the number of secrets
 * opened (must be 0), and fails if the canary appears.
 */
export async function attackerHarvest(lockbox: Lockbox, identity: string): Promise<number> {
  const db = lockbox.vault.store.db;
  const keys = await db
    .selectFrom('lockbox_data_keys')
    .select(['id', 'wrapped_recovery'])
    .where('wrapped_recovery', 'is not', null)
    .execute();
  const secrets = await db.selectFrom('lockbox_secrets').selectAll().execute();
  let opened = 0;
  for (const key of keys) {
    let bytes: Buffer;
    try {
      bytes = await unwrapWithIdentity(identity, key.wrapped_recovery as string);
    } catch {
      continue; // not wrapped to the attacker: the expected outcome
    }
    for (const secret of secrets) {
      try {
        const plain = decryptParsed(
          parseCiphertext(secret.ciphertext),
          createSecretKey(bytes),
          secretContext(secret.scope, secret.name, secret.value_type),
        );
        opened += 1;
        expect(plain.toString('utf8')).not.toContain(CANARY);
      } catch {
        // wrong key for this secret
      }
    }
  }
  return opened;
}

/** The integrity breaks `status` reports, as "table rowId" strings. */
export async function reportedBreaks(lockbox: Lockbox): Promise<string[]> {
  return (await lockbox.status()).integrity.breaks.map((b) => `${b.table} ${b.rowId}`);
}
