/** Rotation.rekeyData: plans, picks the mode, and runs the data re-key job (or reports its plan). */
import { performance } from 'node:perf_hooks';
import { recordEvent } from '../vault/audited.js';
import { authenticatedRecipient } from '../vault/authenticated-meta.js';
import type { Vault } from '../vault/lockbox.js';
import {
  finishingRekeyCheckpoint,
  initialRekeyCheckpoint,
  initialRekeyTotals,
  passesRun,
  type RekeyCheckpoint,
  type RekeyTotals,
} from './checkpoint.js';
import { runDataRekey } from './data-rekey.js';
import { planDataRekey } from './data-rekey-plan.js';
import { FieldTable } from './field-table.js';
import { pendingJob, runJob } from './job-runner.js';
import type { RotationContext } from './rotation-context.js';
import type { RotationJob } from './rotation-jobs.js';
import { batchSizeOf, chooseMode, type ModeDecision } from './rotation-mode.js';
import { type DataRekeyResult, fieldGraceMsOf, type RekeyDataOptions } from './rotation-options.js';

/** Every registered field's table, its row key checked (FIELD_KEY_UNSUITABLE otherwise). */
async function fieldTables(vault: Vault): Promise<FieldTable[]> {
  const fields = await vault.fields.list();
  const tables = fields.map((f) => new FieldTable(f, vault.store.dialect));
  for (const table of tables) await table.prepare(vault.store.db);
  return tables;
}

/**
 * Re-keys data: new data keys for every user scope, every secret and field row
 * re-encrypted, old data keys destroyed once no row needs them. Refuses,
 * changing nothing, with ROTATION_FIRST_ROW_FAILED when a data key or the first
 * secret or field row does not open, and ROTATION_IN_PROGRESS.
 */
export async function rekeyData(
  ctx: RotationContext,
  options: RekeyDataOptions = {},
): Promise<DataRekeyResult> {
  const started = performance.now();
  const batchSize = batchSizeOf(options.batchSize);
  const db = ctx.vault.store.db;
  // Prove before touching: new data keys must never go to a forged recipient, so
  // refuse (RECOVERY_RECIPIENT_UNAUTHENTICATED) before any job exists.
  await authenticatedRecipient(db, ctx.vault.dataKeys.integrity);
  const fields = await fieldTables(ctx.vault);
  const plan = await planDataRekey(ctx.vault, fields);
  const owns = (job: RotationJob) => job.kind === 'data';
  const pending = await pendingJob(db, owns);
  const decision: ModeDecision =
    pending !== undefined
      ? { mode: pending.mode, reason: `${pending.mode}: resuming job ${pending.id}` }
      : chooseMode(options.mode, plan.rows, 'rows');
  const base = {
    kind: 'data' as const,
    mode: decision.mode,
    modeReason: decision.reason,
    resumed: pending !== undefined,
  };
  if (options.dryRun === true) {
    return {
      ...base,
      jobId: null,
      dryRun: true,
      scopes: plan.scopes,
      dataKeys: {
        retired: options.finish === true ? 0 : plan.dataKeys,
        created: 0,
        destroyed: 0,
        retained: 0,
        deferred: 0,
      },
      deferredUntil: null,
      secrets: plan.secrets,
      fields: Object.entries(plan.fieldRows).map(([label, rows]) => {
        const [table = '', column = ''] = label.split('.');
        return { table, column, rows };
      }),
      rows: plan.rows,
      tables:
        (plan.secrets > 0 ? 1 : 0) + Object.values(plan.fieldRows).filter((n) => n > 0).length,
      conflicts: 0,
      unreadable: 0,
      unreadableRows: [],
      durationMs: Math.round(performance.now() - started),
    };
  }
  return runJob<RekeyCheckpoint, RekeyTotals, DataRekeyResult>({
    db,
    pending,
    owns,
    locked: (label, work) => ctx.locked(label, work),
    create: () => ({
      kind: 'data',
      mode: decision.mode,
      from: null,
      to: null,
      checkpoint: options.finish === true ? finishingRekeyCheckpoint() : initialRekeyCheckpoint(),
      totals: initialRekeyTotals(plan.rows, plan.scopes),
      startedBy: options.actor?.id ?? null,
    }),
    work: async (job, lock) => {
      await runDataRekey({
        db,
        dialect: ctx.vault.store.dialect,
        dataKeys: ctx.vault.dataKeys,
        job,
        fields,
        lock,
        batchSize,
        fieldGraceMs: fieldGraceMsOf(options.fieldGraceMs),
        onProgress: options.onProgress,
      });
      const t = job.totals;
      const fieldResults = fields.map((f) => ({
        table: f.field.table,
        column: f.field.column,
        rows: t.fields[f.label] ?? 0,
      }));
      const rows = t.secrets + fieldResults.reduce((sum, f) => sum + f.rows, 0);
      return {
        ...base,
        mode: job.mode,
        jobId: job.id,
        dryRun: false,
        scopes: t.scopes,
        dataKeys: {
          retired: t.dataKeysRetired,
          created: t.dataKeysCreated,
          destroyed: t.dataKeysDestroyed,
          retained: t.dataKeysRetained,
          deferred: t.dataKeysDeferred ?? 0,
        },
        deferredUntil: t.deferredUntil ?? null,
        secrets: t.secrets,
        fields: fieldResults,
        rows,
        tables: (t.secrets > 0 ? 1 : 0) + fieldResults.filter((f) => f.rows > 0).length,
        conflicts: t.conflicts,
        unreadable: t.unreadable,
        unreadableRows: t.unreadableRows,
        durationMs: Math.round(performance.now() - started),
      };
    },
    audit: (job, outcome) =>
      recordEvent(
        ctx.audit,
        {
          action: 'key.rotate.data',
          outcome: outcome.ok ? 'ok' : 'error',
          details: {
            jobId: job.id,
            mode: job.mode,
            ...(outcome.ok
              ? {
                  rows: outcome.result.rows,
                  destroyed: job.totals.dataKeysDestroyed,
                  retained: job.totals.dataKeysRetained,
                  passes: passesRun(job.checkpoint),
                }
              : { code: outcome.stop.code }),
          },
        },
        options,
      ),
  });
}
