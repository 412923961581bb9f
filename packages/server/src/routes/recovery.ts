/**
 * /v1/recovery: the recovery recipient — an age X25519 public key every data
 * key is also wrapped to, so that losing the master key is survivable (see
 * docs/backup-and-recovery.md). Lockbox stores only the recipient; the identity
 * that opens the wraps stays offline and never reaches the server.
 *
 * Reading it needs admin or keys:rotate. Setting it needs keys:rotate explicitly
 * (admin is not enough): whoever holds the identity of the recipient set here,
 * together with a copy of the database, can read every secret. PUT with a
 * recipient sets it and wraps every live data key to it in one transaction
 * (the same recipient again fills gaps); a different one than the stored
 * recipient is refused (INVALID_ARGUMENT) unless `replace` is true, which
 * rewraps every data key to the new one. Core audits each change (recovery.set).
 */
import { isLockboxError } from '@lockbox/core';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { callerOf } from '../auth.js';
import { responses } from '../schemas.js';
import type { ServerContext } from '../server-context.js';
import type { TypeBoxProvider } from '../type-provider.js';

const RecoveryState = Type.Object(
  {
    state: Type.Union([Type.Literal('absent'), Type.Literal('set'), Type.Literal('broken')], {
      description:
        'absent: none is set; set: `recipient` is authenticated; broken: the stored recipient fails its integrity check and is never wrapped to (replace it).',
    }),
    recipient: Type.Union([Type.String(), Type.Null()]),
    dataKeys: Type.Integer({ description: 'Live data keys.' }),
    missing: Type.Integer({ description: 'Live data keys with no recovery wrap.' }),
  },
  { title: 'RecoveryState' },
);

const RecoveryBody = Type.Object(
  {
    recipient: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'An age X25519 recipient (age1…).',
    }),
    replace: Type.Optional(
      Type.Boolean({
        description:
          'Replace a recipient already set (every data key is rewrapped; the old identity stops recovering this store).',
      }),
    ),
  },
  { additionalProperties: false, title: 'RecoveryRequest' },
);

const RecoveryChange = Type.Object(
  {
    recipient: Type.String(),
    previous: Type.Union([Type.String(), Type.Null()], {
      description: 'The recipient this replaced, if any.',
    }),
    rewrapped: Type.Integer({ description: 'Data keys (re)wrapped for the recipient.' }),
    dataKeys: Type.Integer({ description: 'Live data keys.' }),
  },
  { title: 'RecoveryChange' },
);

export function recoveryRoutes(app: FastifyInstance, context: ServerContext): void {
  const api = app.withTypeProvider<TypeBoxProvider>();
  const recovery = () => context.readiness.require().recovery;

  api.get(
    '/recovery',
    {
      config: { auth: { action: 'recovery.status', permission: ['admin', 'keys:rotate'] } },
      schema: {
        summary: 'The recovery recipient and how many data keys it covers',
        tags: ['backup'],
        response: responses({ 200: RecoveryState }),
      },
    },
    async () => {
      const coverage = await recovery().coverage();
      let state: 'absent' | 'set' | 'broken';
      try {
        state = (await recovery().recipient()) === undefined ? 'absent' : 'set';
      } catch (err) {
        if (!isLockboxError(err, 'RECOVERY_RECIPIENT_UNAUTHENTICATED')) throw err;
        state = 'broken';
      }
      return {
        state,
        recipient: coverage.recipient ?? null,
        dataKeys: coverage.dataKeys,
        missing: coverage.missing,
      };
    },
  );

  api.put(
    '/recovery',
    {
      config: { auth: { action: 'recovery.set', permission: 'keys:rotate' } },
      schema: {
        summary: 'Set (or replace) the recovery recipient; every data key is wrapped to it',
        tags: ['backup'],
        body: RecoveryBody,
        response: responses({ 200: RecoveryChange }),
      },
    },
    async (request) => {
      const body: Static<typeof RecoveryBody> = request.body;
      const caller = callerOf(request);
      const change =
        body.replace === true
          ? await recovery().replace(body.recipient, caller)
          : await recovery().add(body.recipient, caller);
      return {
        recipient: change.recipient,
        previous: change.previous ?? null,
        rewrapped: change.rewrapped,
        dataKeys: change.dataKeys,
      };
    },
  );
}
