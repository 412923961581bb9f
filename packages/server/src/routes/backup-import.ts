/**
 * POST /v1/backup/import/preview and /apply: a bundle uploaded (backup:import).
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
 * Core audits each completed preview and apply (backup.import.preview,
 * backup.import) with counts only; a refused import changes nothing, and only a
 * permission refusal is audited (as denied).
 */
import { type AgeDecryption, can, LockboxError, type PermissionName } from '@lockbox/core';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { auditDenied, callerOf, principalOf } from '../auth.js';
import { IMPORT_RETRY_AFTER_SECONDS } from '../import-gate.js';
import { responses, Timestamp } from '../schemas.js';
import type { ServerContext, ServerLockbox } from '../server-context.js';
import type { TypeBoxProvider } from '../type-provider.js';
import { Binary } from './backup-export.js';

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

export function importRoutes(app: FastifyInstance, context: ServerContext): void {
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
