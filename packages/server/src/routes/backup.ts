/**
 * /v1/backup: export a bundle as a download, and import one (preview, then apply).
 *
 * Export (backup:export): the body names who can open the bundle — age
 * recipients (`age1…`) or a passphrase — and optionally the scopes. The response
 * is the age file itself, streamed as application/octet-stream: plaintext is
 * encrypted in the stream and never buffered whole or written to disk. Errors
 * that can be known before the first byte (a bad recipient, a scope name, a key
 * that opens nothing) still get a normal error response: the first encrypted
 * chunk is produced before the headers are sent. A failure after that cuts the
 * download short, which age's format detects on decryption.
 *
 * Import (backup:import): the request body is the age file, as
 * application/octet-stream, with the means to open it in a header:
 *   X-Lockbox-Identity: AGE-SECRET-KEY-1…   (several separated by commas), or
 *   X-Lockbox-Passphrase: <passphrase, percent-encoded UTF-8>
 * and `?policy=fail|skip|overwrite` for conflicts. Preview writes nothing and
 * reports what apply would do. The upload is read whole first (up to its own
 * limit, default 64 MiB), so the import's transaction never waits on a slow client.
 * These headers are redacted from logs like Authorization.
 *
 * Import needs more than backup:import: secrets:read on every scope the bundle
 * holds (apply: secrets:read and secrets:write), checked per scope as records
 * are read (withScopeCheck), because a preview's answers reveal which secrets
 * exist and whether a guessed value is right. For field values the scope is the
 * importing instance's field scope (`field:<table>.<column>` by default).
 *
 * Core audits each completed export, preview and apply (backup.export,
 * backup.import.preview, backup.import) with counts only; a refused import
 * changes nothing, and only a permission refusal is audited (as denied).
 */
import { Readable } from 'node:stream';
import {
  type AgeDecryption,
  type AgeEncryption,
  can,
  LockboxError,
  type PermissionName,
  parseAgeRecipient,
  validateScope,
} from '@lockbox/core';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { auditDenied, callerOf, principalOf } from '../auth.js';
import { IMPORT_RETRY_AFTER_SECONDS } from '../import-gate.js';
import { ERROR_RESPONSES, responses, ScopeValue, Timestamp } from '../schemas.js';
import type { ServerContext, ServerLockbox } from '../server-context.js';
import type { TypeBoxProvider } from '../type-provider.js';

const ExportBody = Type.Object(
  {
    recipients: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
        minItems: 1,
        maxItems: 20,
        description: 'age X25519 recipients (age1…) that can open the bundle.',
      }),
    ),
    passphrase: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description: 'Encrypt to this passphrase instead.',
      }),
    ),
    scopes: Type.Optional(
      Type.Array(ScopeValue, {
        minItems: 1,
        maxItems: 1000,
        description:
          'Only these scopes, each exactly as named ("user:42", not URL-encoded: a scope that holds no secrets exports nothing).',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Exactly one of recipients or passphrase.',
  },
);

const Binary = Type.String({ format: 'binary', description: 'An age-encrypted Lockbox bundle.' });

const ImportHeaders = Type.Object({
  'x-lockbox-identity': Type.Optional(
    Type.String({ description: 'age identities (AGE-SECRET-KEY-1…), comma-separated.' }),
  ),
  'x-lockbox-passphrase': Type.Optional(
    Type.String({ description: 'The bundle passphrase, percent-encoded UTF-8.' }),
  ),
});

const ImportQuery = Type.Object(
  {
    policy: Type.Optional(
      Type.Union([Type.Literal('fail'), Type.Literal('skip'), Type.Literal('overwrite')], {
        description:
          'fail (default): refuse if any secret conflicts; skip: keep the target; overwrite: take the bundle.',
      }),
    ),
  },
  { additionalProperties: false },
);

const Counts = {
  create: Type.Integer(),
  overwrite: Type.Integer(),
  unchanged: Type.Integer(),
  conflict: Type.Integer(),
};

const FieldCounts = {
  values: Type.Integer(),
  update: Type.Integer(),
  unchanged: Type.Integer(),
  missingRow: Type.Integer(),
  unregistered: Type.Integer(),
};

const ImportReport = Type.Object({
  mode: Type.Union([Type.Literal('preview'), Type.Literal('apply')]),
  policy: Type.Union([Type.Literal('fail'), Type.Literal('skip'), Type.Literal('overwrite')]),
  bundle: Type.Object({
    version: Type.Integer(),
    createdAt: Type.Optional(Timestamp),
    sourceFingerprint: Type.Optional(Type.String()),
    storeId: Type.Optional(Type.String()),
    scopes: Type.Optional(Type.Array(Type.String())),
    fields: Type.Optional(
      Type.Array(
        Type.Object({
          table: Type.String(),
          column: Type.String(),
          primaryKey: Type.Array(Type.String()),
          values: Type.Integer(),
        }),
      ),
    ),
    records: Type.Integer({
      description: 'Secret records read (field values are in fieldTotals).',
    }),
  }),
  totals: Type.Object(Counts),
  scopes: Type.Array(Type.Object({ scope: Type.String(), ...Counts })),
  conflicts: Type.Array(
    Type.Object({
      scope: Type.String(),
      name: Type.String(),
      reason: Type.Union([
        Type.Literal('newer-in-target'),
        Type.Literal('undecryptable-in-target'),
      ]),
    }),
  ),
  conflictsTruncated: Type.Boolean(),
  writes: Type.Object({
    create: Type.Integer(),
    overwrite: Type.Integer(),
    fieldValues: Type.Integer(),
  }),
  fields: Type.Array(
    Type.Object({
      table: Type.String(),
      column: Type.String(),
      registration: Type.Union([
        Type.Literal('registered'),
        Type.Literal('missing'),
        Type.Literal('key-columns-differ'),
      ]),
      targetPrimaryKey: Type.Optional(Type.Array(Type.String())),
      ...FieldCounts,
      missingRows: Type.Array(Type.String(), {
        description: 'The first (at most 20) row keys with no row in this instance.',
      }),
      missingRowsTruncated: Type.Boolean(),
    }),
    { description: "Per field of the bundle's field values (bundle version 2)." },
  ),
  fieldTotals: Type.Object(FieldCounts),
});

function encryptionOf(body: {
  recipients?: string[] | undefined;
  passphrase?: string | undefined;
}): AgeEncryption {
  if ((body.recipients === undefined) === (body.passphrase === undefined)) {
    throw new LockboxError('REQUEST_INVALID', 'give exactly one of recipients or passphrase');
  }
  if (body.recipients !== undefined) return { recipients: body.recipients.map(parseAgeRecipient) };
  return { passphrase: body.passphrase as string };
}

function decryptionOf(request: FastifyRequest): AgeDecryption {
  const identity = request.headers['x-lockbox-identity'];
  const passphrase = request.headers['x-lockbox-passphrase'];
  if ((typeof identity === 'string') === (typeof passphrase === 'string')) {
    throw new LockboxError(
      'REQUEST_INVALID',
      'send exactly one of the X-Lockbox-Identity and X-Lockbox-Passphrase headers',
    );
  }
  if (typeof identity === 'string') {
    const identities = identity
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part.length > 0);
    if (identities.length === 0) {
      throw new LockboxError('REQUEST_INVALID', 'X-Lockbox-Identity is empty');
    }
    return { identities };
  }
  try {
    return { passphrase: decodeURIComponent(passphrase as string) };
  } catch {
    throw new LockboxError('REQUEST_INVALID', 'X-Lockbox-Passphrase is not valid percent-encoding');
  }
}

function bundleOf(request: FastifyRequest): Buffer {
  if (!Buffer.isBuffer(request.body) || request.body.length === 0) {
    throw new LockboxError(
      'REQUEST_INVALID',
      'send the bundle as an application/octet-stream body',
    );
  }
  return request.body;
}

/**
 * A Node stream over a web stream whose first chunk was already read; cancelling
 * the reader when the client goes away ends the export's database read. The
 * stream ends only once `done` has settled — the export finished and its audit
 * entry committed — so a client never holds a complete bundle whose export went
 * unrecorded; if it fails, the response is cut off instead.
 */
function resumeStream(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  first: Uint8Array | undefined,
  done: Promise<unknown>,
): Readable {
  return Readable.from(
    (async function* () {
      try {
        if (first !== undefined) yield first;
        for (;;) {
          const next = await reader.read();
          if (next.done) {
            await done;
            return;
          }
          yield next.value;
        }
      } finally {
        await reader.cancel().catch(() => undefined);
      }
    })(),
    { objectMode: false },
  );
}

/**
 * What a token needs on each scope a bundle touches, beside backup:import. A
 * preview's answers (create / unchanged / overwrite) tell whether a secret
 * exists and whether the bundle's value equals it, so they are a read; apply
 * reports the same answers and writes, so it needs both.
 */
const PREVIEW_NEEDS: readonly PermissionName[] = ['secrets:read'];
const APPLY_NEEDS: readonly PermissionName[] = ['secrets:read', 'secrets:write'];

/**
 * Runs an import with a per-scope check of the caller's token; a refusal is
 * PERMISSION_DENIED naming the scope and the missing permission, audited as
 * denied, and the import reports nothing (apply writes nothing).
 */
async function withScopeCheck<T>(
  lockbox: ServerLockbox,
  request: FastifyRequest,
  needs: readonly PermissionName[],
  action: string,
  run: (authorize: (scope: string) => void) => Promise<T>,
): Promise<T> {
  const { token } = principalOf(request);
  let refused: { scope: string; permission: PermissionName } | undefined;
  const authorize = (scope: string) => {
    const missing = needs.find((permission) => !can(token, permission, scope));
    if (missing === undefined) return;
    refused = { scope, permission: missing };
    throw new LockboxError(
      'PERMISSION_DENIED',
      `this token lacks ${missing} on scope "${scope}", which the bundle holds records for; nothing was imported or compared`,
      { details: { permission: [missing], scope } },
    );
  };
  try {
    return await run(authorize);
  } catch (err) {
    if (refused !== undefined && err instanceof LockboxError && err.code === 'PERMISSION_DENIED') {
      await auditDenied(
        lockbox,
        request,
        { action, permission: refused.permission },
        'PERMISSION_DENIED',
        { scope: refused.scope },
      );
    }
    throw err;
  }
}

export function backupRoutes(app: FastifyInstance, context: ServerContext): void {
  const api = app.withTypeProvider<TypeBoxProvider>();
  const lockbox = () => context.readiness.require();
  /** Runs one bundle read under the server's concurrency bound (IMPORT_BUSY, Retry-After). */
  const gated = async <T>(reply: FastifyReply, work: () => Promise<T>): Promise<T> => {
    try {
      return await context.importGate.run(work);
    } catch (err) {
      if (err instanceof LockboxError && err.code === 'IMPORT_BUSY') {
        reply.header('retry-after', String(IMPORT_RETRY_AFTER_SECONDS));
      }
      throw err;
    }
  };

  // Only the import routes take binary bodies, with their own limit (this plugin is encapsulated).
  app.addContentTypeParser(
    'application/octet-stream',
    { parseAs: 'buffer', bodyLimit: context.importBodyLimit },
    (_request, body, done) => done(null, body),
  );

  // Untyped replies here: the 200 body is a byte stream, not a serialized schema.
  app.post<{ Body: Static<typeof ExportBody> }>(
    '/backup/export',
    {
      config: { auth: { action: 'backup.export', permission: 'backup:export' } },
      schema: {
        summary: 'Export a bundle (an age file) as a download',
        tags: ['backup'],
        body: ExportBody,
        response: {
          200: {
            description: 'The age-encrypted bundle, streamed.',
            content: { 'application/octet-stream': { schema: Binary } },
          },
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request, reply) => {
      const encryption = encryptionOf(request.body);
      const scopes = request.body.scopes?.map((scope) => validateScope(scope));
      const { stream, done } = lockbox().backup.exportStream({
        encryption,
        ...(scopes === undefined ? {} : { scopes }),
        ...callerOf(request),
      });
      done.catch((err: unknown) => request.log.warn({ err }, 'export stopped'));
      const reader = stream.getReader();
      let first: Awaited<ReturnType<typeof reader.read>>;
      try {
        first = await reader.read();
      } catch (err) {
        await reader.cancel().catch(() => undefined);
        throw err;
      }
      const date = new Date().toISOString().slice(0, 10);
      return reply
        .status(200)
        .header('content-type', 'application/octet-stream')
        .header('content-disposition', `attachment; filename="lockbox-${date}.age"`)
        .send(resumeStream(reader, first.done ? undefined : first.value, done));
    },
  );

  const importSchema = (summary: string) => ({
    summary,
    tags: ['backup'],
    headers: ImportHeaders,
    querystring: ImportQuery,
    body: { content: { 'application/octet-stream': { schema: Binary } } },
    response: responses({ 200: ImportReport }),
  });

  api.post(
    '/backup/import/preview',
    {
      config: { auth: { action: 'backup.import.preview', permission: 'backup:import' } },
      bodyLimit: context.importBodyLimit,
      schema: importSchema(
        "Preview an import: what apply would do, per scope (changes no secret). Needs backup:import and secrets:read on every record's scope.",
      ),
    },
    async (request, reply) =>
      gated(reply, () =>
        withScopeCheck(lockbox(), request, PREVIEW_NEEDS, 'backup.import.preview', (authorize) =>
          lockbox().backup.preview(bundleOf(request), {
            decryption: decryptionOf(request),
            maxBytes: context.importBodyLimit,
            authorize,
            ...callerOf(request),
            ...(request.query.policy === undefined ? {} : { policy: request.query.policy }),
          }),
        ),
      ),
  );

  api.post(
    '/backup/import/apply',
    {
      config: { auth: { action: 'backup.import', permission: 'backup:import' } },
      bodyLimit: context.importBodyLimit,
      schema: importSchema(
        "Apply an import, in one transaction (all or nothing). Needs backup:import, and secrets:read and secrets:write on every record's scope.",
      ),
    },
    async (request, reply) =>
      gated(reply, () =>
        withScopeCheck(lockbox(), request, APPLY_NEEDS, 'backup.import', (authorize) =>
          lockbox().backup.apply(bundleOf(request), {
            decryption: decryptionOf(request),
            maxBytes: context.importBodyLimit,
            authorize,
            ...callerOf(request),
            ...(request.query.policy === undefined ? {} : { policy: request.query.policy }),
          }),
        ),
      ),
  );
}
