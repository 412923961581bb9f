/** Rotation.adopt and adoptAll: legacy field rows into Lockbox's format, proved first, then under the lock. */
import { performance } from 'node:perf_hooks';
import { recordEvent } from '../vault/audited.js';
import type { FieldRegistration } from '../vault/fields.js';
import { type AdoptionResult, proveAdoption, runAdoption } from './adoption.js';
import { FieldTable } from './field-table.js';
import { LegacyDecoder } from './legacy-decoder.js';
import type { RotationContext } from './rotation-context.js';
import type { RotationLockHandle } from './rotation-lock.js';
import { batchSizeOf } from './rotation-mode.js';
import type { AdoptAllOptions, AdoptOptions } from './rotation-options.js';

/**
 * Re-encrypts a registered field's legacy rows (plaintext, Fernet, `v2:`) into
 * Lockbox's format. Refuses, changing nothing, with FIELD_NOT_REGISTERED,
 * FIELD_KEY_UNSUITABLE, a key error, INVALID_ARGUMENT (no key and no
 * plaintext), ROTATION_FIRST_ROW_FAILED (the first row of an adopted format
 * does not decode) or ROTATION_IN_PROGRESS.
 */
export async function adopt(ctx: RotationContext, options: AdoptOptions): Promise<AdoptionResult> {
  const registration = await ctx.vault.fields.registration(options.table, options.column);
  const [result] = await adoptFields(ctx, [registration], options);
  return result as AdoptionResult;
}

/**
 * Adopts every registered field (or the ones named) in one job with the same
 * legacy keys: every field's key and first rows are proved before anything is
 * written, then the fields are adopted one after the other under one lock.
 * Refuses as `adopt` does; a refusal of any field changes nothing in any.
 */
export async function adoptAll(
  ctx: RotationContext,
  options: AdoptAllOptions = {},
): Promise<AdoptionResult[]> {
  const registrations =
    options.fields === undefined
      ? await ctx.vault.fields.list()
      : await Promise.all(
          options.fields.map(async (f) => {
            const found = await ctx.vault.fields.find(f.table, f.column);
            if (found !== undefined || options.dryRun !== true || !('primaryKey' in f)) {
              return found ?? ctx.vault.fields.registration(f.table, f.column);
            }
            return ctx.vault.fields.plan(f);
          }),
        );
  return adoptFields(ctx, registrations, options);
}

async function adoptFields(
  ctx: RotationContext,
  registrations: readonly FieldRegistration[],
  options: Omit<AdoptOptions, 'table' | 'column'>,
): Promise<AdoptionResult[]> {
  const batchSize = batchSizeOf(options.batchSize);
  const decoder = new LegacyDecoder(options);
  try {
    const db = ctx.vault.store.db;
    const proved: { table: FieldTable; total: number }[] = [];
    for (const registration of registrations) {
      const table = new FieldTable(registration, ctx.vault.store.dialect);
      await table.prepare(db);
      proved.push({ table, total: await proveAdoption(db, table, decoder, batchSize) });
    }
    const run = async (lock: RotationLockHandle | undefined) => {
      const results: AdoptionResult[] = [];
      for (const { table, total } of proved) {
        const started = performance.now();
        const result = {
          ...(await runAdoption({
            db,
            dataKeys: ctx.vault.dataKeys,
            table,
            decoder,
            lock,
            batchSize,
            total,
            dryRun: options.dryRun === true,
            onProgress: options.onProgress,
          })),
          durationMs: Math.round(performance.now() - started),
        };
        if (lock !== undefined) {
          await recordEvent(
            ctx.audit,
            {
              action: 'field.adopt',
              outcome: 'ok',
              details: {
                table: result.table,
                column: result.column,
                // Counts only; "plaintext" is a forbidden audit key, so the formats are renamed.
                adoptedFernet: result.adopted.fernet,
                adoptedV2: result.adopted.v2,
                adoptedUnencrypted: result.adopted.plaintext,
                failed: result.failed,
              },
            },
            options,
          );
        }
        results.push(result);
      }
      return results;
    };
    if (options.dryRun === true) return await run(undefined);
    const label = proved.length === 1 ? proved[0]?.table.label : `${proved.length} fields`;
    return await ctx.locked(`adopt-${label}`, run);
  } finally {
    decoder.dispose();
  }
}
