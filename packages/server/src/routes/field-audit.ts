/**
 * The audit entry of one field batch: `field.encrypt` or `field.decrypt`, with
 * the field, how many items succeeded and failed, the failures' codes, and the
 * row keys of the items — never a plaintext or a ciphertext.
 *
 * Audit details are bounded (4 KiB): row keys are listed while they fit in
 * KEYS_BUDGET_BYTES of JSON; beyond that the entry says the list is truncated.
 */
import type { Actor, AuditSink } from '@lockbox/core';

const KEYS_BUDGET_BYTES = 2500;

/** A row key as field requests send it: each key column with its value. */
export type RowKey = Record<string, string | number>;

/** What happened to one item: its row key, and its error code when it failed. */
export interface FieldItemOutcome {
  key: RowKey;
  code?: string;
}

export async function auditFieldBatch(
  audit: AuditSink,
  action: 'field.encrypt' | 'field.decrypt',
  table: string,
  column: string,
  outcomes: readonly FieldItemOutcome[],
  caller: { actor: Actor; requestId: string },
): Promise<void> {
  const keys: RowKey[] = [];
  let bytes = 0;
  for (const outcome of outcomes) {
    bytes += Buffer.byteLength(JSON.stringify(outcome.key));
    if (bytes > KEYS_BUDGET_BYTES) break;
    keys.push(outcome.key);
  }
  const errors: Record<string, number> = {};
  for (const { code } of outcomes) if (code !== undefined) errors[code] = (errors[code] ?? 0) + 1;
  const failed = outcomes.filter((outcome) => outcome.code !== undefined).length;
  await audit.record({
    action,
    scope: null,
    name: `${table}.${column}`,
    outcome: failed === 0 ? 'ok' : 'error',
    details: {
      table,
      column,
      items: outcomes.length,
      ok: outcomes.length - failed,
      failed,
      ...(failed === 0 ? {} : { errors }),
      keys,
      ...(keys.length < outcomes.length ? { keysTruncated: true } : {}),
    },
    actor: caller.actor,
    requestId: caller.requestId,
  });
}
