/**
 * /v1/rotation: rotate the master key, re-key data, resume or abandon an
 * interrupted rotation, and see rotation status.
 *
 * Starting, resuming or abandoning needs `keys:rotate` explicitly (admin is not
 * enough). Abandoning is always safe (every row stays readable with the keys
 * configured) and is audited by core as key.rotate.abandon.
 * Master rotation is proof of possession over HTTP: the body carries the old
 * key, which core checks against the stored fingerprint, and the new key, which
 * core validates — both before anything is written; a wrong key is refused with
 * a clear code and changes nothing. Such a refusal is audited here as 'denied'
 * (core audits the rotations that start). Keys arrive in the body only, which is
 * never logged, and no response or error ever contains them.
 *
 * Rotations run within the request: `mode: "auto"` picks atomic for small stores
 * and online (batched, resumable) for large ones. A request cut off mid-way
 * leaves a resumable job — every row stays readable — and POST
 * /v1/rotation/resume (or `lockbox rotate resume`) finishes it. After a master
 * rotation this instance wraps new data keys under the new key at once. The
 * embedder's masterRotationHook (lockbox serve: its key files follow) keeps the
 * key configuration in step; `keyFileUpdated` says whether it did. Without one,
 * configure the new key as primary before the next restart (and other instances
 * now), keeping the old one as a previous key until nothing needs it.
 */
import {
  type DataRekeyResult,
  isLockboxError,
  type MasterRotationResult,
  type RotationJob,
} from '@lockbox/core';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { auditDenied, callerOf, type RouteAuth } from '../auth.js';
import { responses, Timestamp } from '../schemas.js';
import type { ServerContext } from '../server-context.js';
import type { TypeBoxProvider } from '../type-provider.js';

const KeyText = Type.String({
  minLength: 1,
  maxLength: 256,
  description: 'A 32-byte master key as hex, base64 or base64url.',
});
const Mode = Type.Union([Type.Literal('auto'), Type.Literal('online'), Type.Literal('atomic')], {
  description:
    'auto (default): atomic when the work is small, online (batched, resumable) otherwise.',
});
const BatchSize = Type.Integer({ minimum: 1, maximum: 100_000 });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

const MasterBody = Type.Object(
  {
    oldKey: KeyText,
    newKey: KeyText,
    mode: Type.Optional(Mode),
    dryRun: Type.Optional(Type.Boolean({ description: 'Prove and count; write nothing.' })),
    batchSize: Type.Optional(BatchSize),
  },
  { additionalProperties: false },
);

const DataBody = Type.Object(
  {
    mode: Type.Optional(Mode),
    dryRun: Type.Optional(Type.Boolean({ description: 'Plan and count; write nothing.' })),
    batchSize: Type.Optional(BatchSize),
    fieldGraceMs: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          "How long a field scope's old data key outlives the switch (ms, default 900000).",
      }),
    ),
    finish: Type.Optional(
      Type.Boolean({
        description: 'Finish an earlier re-key: re-encrypt late rows, destroy keys past grace.',
      }),
    ),
  },
  { additionalProperties: false },
);

const ResumeBody = Type.Object(
  {
    oldKey: Type.Optional(KeyText),
    newKey: Type.Optional(KeyText),
    batchSize: Type.Optional(BatchSize),
  },
  {
    additionalProperties: false,
    description:
      'For a master rotation, the keys default to those in the keyring with the job fingerprints.',
  },
);

const ResultBase = {
  jobId: Nullable(Type.String()),
  dryRun: Type.Boolean(),
  mode: Type.Union([Type.Literal('online'), Type.Literal('atomic')]),
  modeReason: Type.String(),
  resumed: Type.Boolean(),
  durationMs: Type.Integer(),
};

const MasterResult = Type.Object({
  kind: Type.Literal('master'),
  ...ResultBase,
  from: Type.String({ description: 'Fingerprint of the old key.' }),
  to: Type.String({ description: 'Fingerprint of the new key.' }),
  dataKeys: Type.Object({
    planned: Type.Integer(),
    rewrapped: Type.Integer(),
    remaining: Type.Integer(),
  }),
  oldKeyRetired: Type.Boolean(),
  keyFileUpdated: Type.Optional(
    Type.Boolean({
      description:
        "true: the server's key file now holds the new key (the old one kept as its .previous file); false: the server's key configuration is unchanged and must be changed before its next restart. Absent for a dry run.",
    }),
  ),
});

const DataResult = Type.Object({
  kind: Type.Literal('data'),
  ...ResultBase,
  scopes: Type.Integer(),
  dataKeys: Type.Object({
    retired: Type.Integer(),
    created: Type.Integer(),
    destroyed: Type.Integer(),
    retained: Type.Integer(),
    deferred: Type.Integer(),
  }),
  deferredUntil: Type.Union([Type.String(), Type.Null()]),
  secrets: Type.Integer(),
  fields: Type.Array(
    Type.Object({ table: Type.String(), column: Type.String(), rows: Type.Integer() }),
  ),
  rows: Type.Integer(),
  tables: Type.Integer(),
  conflicts: Type.Integer(),
  unreadable: Type.Integer(),
  unreadableRows: Type.Array(
    Type.Object({ where: Type.String(), row: Type.String(), code: Type.String() }),
  ),
});

const Job = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('master'), Type.Literal('data')]),
  mode: Type.Union([Type.Literal('online'), Type.Literal('atomic')]),
  state: Type.Union([Type.Literal('running'), Type.Literal('done'), Type.Literal('failed')]),
  from: Nullable(Type.String()),
  to: Nullable(Type.String()),
  totals: Type.Object({}, { additionalProperties: true }),
  startedBy: Nullable(Type.String()),
  startedAt: Timestamp,
  updatedAt: Timestamp,
  finishedAt: Nullable(Timestamp),
  /** Why the job stopped, for people: "CODE: message". */
  error: Nullable(Type.String()),
  /** The stable error code of that stop (docs/errors.md), or null. */
  errorCode: Nullable(Type.String()),
});

const Status = Type.Object({
  lock: Nullable(
    Type.Object({
      holder: Type.String(),
      since: Timestamp,
      heartbeatAt: Timestamp,
      live: Type.Boolean(),
    }),
  ),
  unfinished: Nullable(Job),
  recent: Type.Array(Job),
});

/** Refusals that mean "you did not prove possession of the right keys". */
const PROOF_FAILURES = new Set([
  'KEY_INVALID_ENCODING',
  'KEY_INVALID_LENGTH',
  'KEY_SAME_AS_OLD',
  'ROTATION_OLD_KEY_MISMATCH',
]);

const MASTER: RouteAuth = { action: 'key.rotate.master', permission: 'keys:rotate' };
const RESUME: RouteAuth = { action: 'key.rotate.resume', permission: 'keys:rotate' };

/** A job without its checkpoint (an internal resume position; totals say what was done). */
function jobView(job: RotationJob): Omit<RotationJob, 'checkpoint'> {
  const { checkpoint: _internal, ...view } = job;
  return view;
}

export function rotationRoutes(app: FastifyInstance, context: ServerContext): void {
  const api = app.withTypeProvider<TypeBoxProvider>();
  const lockbox = () => context.readiness.require();

  /** Runs a keyed rotation call, auditing a failed proof of possession as denied. */
  async function proving<T>(request: FastifyRequest, auth: RouteAuth, run: () => Promise<T>) {
    try {
      return await run();
    } catch (err) {
      if (isLockboxError(err) && PROOF_FAILURES.has(err.code)) {
        await auditDenied(lockbox(), request, auth, err.code, {});
      }
      throw err;
    }
  }

  api.post(
    '/rotation/master',
    {
      config: { auth: MASTER },
      schema: {
        summary: 'Rotate the master key (proof of possession: old and new key in the body)',
        tags: ['rotation'],
        body: MasterBody,
        response: responses({ 200: MasterResult }),
      },
    },
    async (request) => {
      const body: Static<typeof MasterBody> = request.body;
      const rotate = (dryRun: boolean) =>
        lockbox().rotation.rotateMaster({
          oldKey: body.oldKey,
          newKey: body.newKey,
          ...callerOf(request),
          ...(body.mode === undefined ? {} : { mode: body.mode }),
          dryRun,
          ...(body.batchSize === undefined ? {} : { batchSize: body.batchSize }),
        });
      const hook = context.masterRotationHook;
      if (body.dryRun === true) return proving(request, MASTER, () => rotate(true));
      if (hook === undefined) {
        const result = await proving(request, MASTER, () => rotate(false));
        request.log.warn(
          { from: result.from, to: result.to },
          'master key rotated: configure the new key as primary (the old one as previous) before this instance restarts',
        );
        return { ...result, keyFileUpdated: false };
      }
      const { result, change } = await proving(request, MASTER, () =>
        hook.masterRotation({ oldKey: body.oldKey, newKey: body.newKey }, rotate),
      );
      request.log[change.followed ? 'info' : 'warn'](
        { from: result.from, to: result.to },
        change.message,
      );
      return { ...result, keyFileUpdated: change.followed };
    },
  );

  api.post(
    '/rotation/data',
    {
      config: { auth: { action: 'key.rotate.data', permission: 'keys:rotate' } },
      schema: {
        summary: 'Re-key data: new data keys, every secret and field re-encrypted',
        tags: ['rotation'],
        body: DataBody,
        response: responses({ 200: DataResult }),
      },
    },
    async (request) => {
      const body = request.body;
      return lockbox().rotation.rekeyData({
        ...callerOf(request),
        ...(body.mode === undefined ? {} : { mode: body.mode }),
        ...(body.dryRun === undefined ? {} : { dryRun: body.dryRun }),
        ...(body.batchSize === undefined ? {} : { batchSize: body.batchSize }),
        ...(body.fieldGraceMs === undefined ? {} : { fieldGraceMs: body.fieldGraceMs }),
        ...(body.finish === undefined ? {} : { finish: body.finish }),
      });
    },
  );

  api.post(
    '/rotation/resume',
    {
      config: { auth: RESUME },
      schema: {
        summary: 'Finish an interrupted rotation',
        tags: ['rotation'],
        body: ResumeBody,
        response: responses({ 200: Type.Union([MasterResult, DataResult]) }),
      },
    },
    async (request) => {
      const body = request.body;
      const result: MasterRotationResult | DataRekeyResult = await proving(request, RESUME, () =>
        lockbox().rotation.resume({
          ...callerOf(request),
          ...(body.oldKey === undefined ? {} : { oldKey: body.oldKey }),
          ...(body.newKey === undefined ? {} : { newKey: body.newKey }),
          ...(body.batchSize === undefined ? {} : { batchSize: body.batchSize }),
        }),
      );
      if (result.kind === 'master' && context.masterRotationHook !== undefined) {
        const change = await context.masterRotationHook.masterResumed(result);
        request.log[change.followed ? 'info' : 'warn'](
          { from: result.from, to: result.to },
          change.message,
        );
        return { ...result, keyFileUpdated: change.followed };
      }
      return result;
    },
  );

  api.post(
    '/rotation/abandon',
    {
      config: { auth: { action: 'key.rotate.abandon', permission: 'keys:rotate' } },
      schema: {
        summary: 'Give up an interrupted rotation (always safe; it will not be resumed)',
        tags: ['rotation'],
        body: Type.Object({}, { additionalProperties: false, description: 'Empty: {}.' }),
        response: responses({ 200: Type.Object({ job: Job }) }),
      },
    },
    async (request) => {
      const { actor, requestId } = callerOf(request);
      const job = await lockbox().rotation.abandon(actor, { requestId });
      return { job: jobView(job) };
    },
  );

  api.get(
    '/rotation',
    {
      config: { auth: { action: 'rotation.status', permission: ['keys:rotate', 'admin'] } },
      schema: {
        summary: 'Rotation status: the lock, an unfinished job, recent jobs',
        tags: ['rotation'],
        response: responses({ 200: Status }),
      },
    },
    async () => {
      const status = await lockbox().rotation.status();
      return {
        lock: status.lock,
        unfinished: status.unfinished === null ? null : jobView(status.unfinished),
        recent: status.recent.map(jobView),
      };
    },
  );
}
