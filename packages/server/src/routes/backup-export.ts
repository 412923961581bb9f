/**
 * POST /v1/backup/export: a bundle as a download (backup:export).
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
 * Core audits each completed export (backup.export) with counts only.
 */
import { Readable } from 'node:stream';
import { type AgeEncryption, LockboxError, parseAgeRecipient, validateScope } from '@lockbox/core';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { callerOf } from '../auth.js';
import { ERROR_RESPONSES, ScopeValue } from '../schemas.js';
import type { ServerContext } from '../server-context.js';

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

/** The bytes of an age file, in a download or an upload. */
export const Binary = Type.String({
  format: 'binary',
  description: 'An age-encrypted Lockbox bundle.',
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

export function exportRoute(app: FastifyInstance, context: ServerContext): void {
  const lockbox = () => context.readiness.require();

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
}
