/**
 * /v1/fields/{table}/{column}/encrypt and /decrypt: field encryption over HTTP
 * (like Vault's transit engine), so an application in any language can read and
 * write the Lockbox ciphertexts of its own tables without holding a master key.
 *
 * Each request is a batch of at most MAX_FIELD_BATCH items, each naming its row by
 * its row key (`{ user_id: 7, provider: "github" }`). Items are answered one by
 * one, in order: an item that fails (a key that is not the field's row key, a
 * ciphertext that does not open for that row) carries its own error code and does
 * not fail the others. Whole-request failures are the field itself being
 * unregistered (FIELD_NOT_REGISTERED), a malformed or oversized batch
 * (REQUEST_INVALID), the usual authentication and permission errors, and faults
 * of the server rather than of an item (STORE_FAILED, INTERNAL).
 *
 * Permissions are `fields:encrypt:<glob>` and `fields:decrypt:<glob>` over
 * `table.column`, checked by auth.ts before the body is used. Each batch is one
 * audit entry (`field.encrypt` / `field.decrypt`) with the counts, the error codes
 * and the row keys — never a plaintext or a ciphertext.
 */
import { type RowKey as CoreRowKey, LockboxError } from '@lockbox/core';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { callerOf } from '../auth.js';
import { responses } from '../schemas.js';
import type { ServerContext } from '../server-context.js';
import type { TypeBoxProvider } from '../type-provider.js';
import { auditFieldBatch, type FieldItemOutcome } from './field-audit.js';
import { type RowKey, rowIdOf } from './field-row-key.js';

/** Items per request; a larger batch is refused whole (REQUEST_INVALID). */
export const MAX_FIELD_BATCH = 1000;

/** Plaintext per item, in UTF-8 bytes (the same limit as a secret value). */
export const MAX_FIELD_PLAINTEXT_BYTES = 64 * 1024;

const Identifier = Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}$' });

const FieldParams = Type.Object({
  table: Type.String({ ...Identifier, description: 'The table of a registered field.' }),
  column: Type.String({ ...Identifier, description: 'The column of a registered field.' }),
});

const KeyValue = Type.Union([Type.String({ maxLength: 256 }), Type.Integer()]);

const RowKeySchema = Type.Record(
  Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}$' }),
  KeyValue,
  {
    title: 'RowKey',
    minProperties: 1,
    maxProperties: 16,
    description:
      'The row the value belongs to: each row-key column of the field with its value (for example {"user_id": 7, "provider": "github"}).',
  },
);

const batch = <T extends ReturnType<typeof Type.Object>>(item: T, title: string) =>
  Type.Object(
    { items: Type.Array(item, { minItems: 1, maxItems: MAX_FIELD_BATCH }) },
    { additionalProperties: false, title },
  );

const EncryptBody = batch(
  Type.Object(
    {
      key: RowKeySchema,
      plaintext: Type.String({ description: 'The value to encrypt (UTF-8 text, at most 64 KiB).' }),
    },
    { additionalProperties: false },
  ),
  'FieldEncryptRequest',
);

const DecryptBody = batch(
  Type.Object(
    {
      key: RowKeySchema,
      ciphertext: Type.String({ maxLength: 200_000, description: 'An lb1: field ciphertext.' }),
    },
    { additionalProperties: false },
  ),
  'FieldDecryptRequest',
);

const ItemError = Type.Object(
  {
    code: Type.String({ description: 'A stable code from the Lockbox error catalogue.' }),
    message: Type.String(),
  },
  { title: 'FieldItemError', description: 'Why this item failed; the other items are unaffected.' },
);

const EncryptResult = Type.Object(
  {
    results: Type.Array(
      Type.Union([
        Type.Object({ ciphertext: Type.String() }, { additionalProperties: false }),
        Type.Object({ error: ItemError }, { additionalProperties: false }),
      ]),
      { description: 'One result per item, in order: a ciphertext or an error.' },
    ),
  },
  { title: 'FieldEncryptResult', description: 'One result per item.' },
);

const DecryptResult = Type.Object(
  {
    results: Type.Array(
      Type.Union([
        Type.Object({ plaintext: Type.String() }, { additionalProperties: false }),
        Type.Object({ error: ItemError }, { additionalProperties: false }),
      ]),
      { description: 'One result per item, in order: a plaintext or an error.' },
    ),
  },
  { title: 'FieldDecryptResult', description: 'One result per item.' },
);

/** Failures that are the server's, not an item's: they fail the whole request. */
const SERVER_FAULTS = new Set<string>(['STORE_FAILED', 'NOT_READY', 'INTERNAL']);

function itemError(err: LockboxError): { code: string; message: string } {
  return { code: err.code, message: err.message };
}

export function fieldsRoutes(app: FastifyInstance, context: ServerContext): void {
  const api = app.withTypeProvider<TypeBoxProvider>();
  const lockbox = () => context.readiness.require();

  /** Runs `one` over every item, never letting an item's failure fail the batch. */
  async function each<I extends { key: RowKey }, R>(
    table: string,
    column: string,
    items: readonly I[],
    one: (rowKey: CoreRowKey, item: I) => Promise<R>,
  ): Promise<{
    results: (R | { error: { code: string; message: string } })[];
    outcomes: FieldItemOutcome[];
  }> {
    // Unregistered field: the whole request fails, before any item.
    const registration = await lockbox().fields.registration(table, column);
    const results: (R | { error: { code: string; message: string } })[] = [];
    const outcomes: FieldItemOutcome[] = [];
    for (const item of items) {
      try {
        results.push(await one(rowIdOf(registration, item.key), item));
        outcomes.push({ key: item.key });
      } catch (err) {
        // A fault of the server, not of the item, fails the whole request (logged
        // with its cause by the error handler), rather than every item alike.
        if (!(err instanceof LockboxError) || SERVER_FAULTS.has(err.code)) throw err;
        const error = itemError(err);
        results.push({ error });
        outcomes.push({ key: item.key, code: error.code });
      }
    }
    return { results, outcomes };
  }

  api.post(
    '/fields/:table/:column/encrypt',
    {
      config: { auth: { action: 'field.encrypt', permission: 'fields:encrypt' } },
      schema: {
        summary: 'Encrypt a batch of field values, each for its row',
        tags: ['fields'],
        params: FieldParams,
        body: EncryptBody,
        response: responses({ 200: EncryptResult }),
      },
    },
    async (request) => {
      const { table, column } = request.params;
      const body: Static<typeof EncryptBody> = request.body;
      const { results, outcomes } = await each(table, column, body.items, async (rowId, item) => {
        if (Buffer.byteLength(item.plaintext, 'utf8') > MAX_FIELD_PLAINTEXT_BYTES) {
          throw new LockboxError(
            'VALUE_TOO_LARGE',
            `the plaintext is larger than ${MAX_FIELD_PLAINTEXT_BYTES} bytes`,
          );
        }
        return { ciphertext: await lockbox().fields.encrypt(table, column, rowId, item.plaintext) };
      });
      await auditFieldBatch(
        lockbox().audit,
        'field.encrypt',
        table,
        column,
        outcomes,
        callerOf(request),
      );
      return { results };
    },
  );

  api.post(
    '/fields/:table/:column/decrypt',
    {
      config: { auth: { action: 'field.decrypt', permission: 'fields:decrypt' } },
      schema: {
        summary: 'Decrypt a batch of field values, each checked against its row',
        tags: ['fields'],
        params: FieldParams,
        body: DecryptBody,
        response: responses({ 200: DecryptResult }),
      },
    },
    async (request) => {
      const { table, column } = request.params;
      const body: Static<typeof DecryptBody> = request.body;
      const { results, outcomes } = await each(table, column, body.items, async (rowId, item) => ({
        plaintext: await lockbox().fields.decrypt(table, column, rowId, item.ciphertext),
      }));
      await auditFieldBatch(
        lockbox().audit,
        'field.decrypt',
        table,
        column,
        outcomes,
        callerOf(request),
      );
      return { results };
    },
  );
}
