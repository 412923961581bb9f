/**
 * buildServer: the Lockbox HTTP API as a Fastify instance (not listening).
 *
 * Everything under /v1 needs a bearer token (auth.ts) and an open lockbox; the
 * health probes, the OpenAPI document and the console's static files are public.
 * One error handler turns every failure into `{ error: { code, message } }` with
 * the status from error-status.ts. The lockbox may still be opening (pass its
 * promise): the server then answers /healthz at once and /v1 with NOT_READY
 * until the open — with its startup key check — has passed.
 *
 * The server always audits secret reads and writes to the lockbox's own audit
 * log, whatever the lockbox was opened with.
 */
import { randomUUID } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import fastifySwagger from '@fastify/swagger';
import { LockboxError } from '@lockbox/core';
import { Type } from '@sinclair/typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerFactory,
} from 'fastify';
import { installAuth } from './auth.js';
import { AuthFailureAudit, type AuthFailureAuditOptions } from './auth-failure-audit.js';
import { AuthFailureLimiter, type AuthRateLimitOptions } from './auth-failure-limiter.js';
import { registerConsoleFiles } from './console-files.js';
import { installErrorHandling } from './error-handling.js';
import { clientErrorHandler, frameworkErrors } from './framework-errors.js';
import { ImportGate } from './import-gate.js';
import { installStrictJson } from './json-body.js';
import { createLogger, type LoggerOptions } from './logger.js';
import type { MasterRotationHook } from './master-rotation-hook.js';
import { openApiOptions } from './openapi.js';
import { Readiness } from './readiness.js';
import { auditRoutes } from './routes/audit.js';
import { backupRoutes } from './routes/backup.js';
import { envRoutes } from './routes/env.js';
import { fieldsRoutes } from './routes/fields.js';
import { healthRoutes } from './routes/health.js';
import { keysRoutes } from './routes/keys.js';
import { recoveryRoutes } from './routes/recovery.js';
import { rotationRoutes } from './routes/rotation.js';
import { scopesRoutes } from './routes/scopes.js';
import { secretsRoutes } from './routes/secrets.js';
import { tokensRoutes } from './routes/tokens.js';
import { ErrorBody } from './schemas.js';
import type { ServerContext, ServerLockbox } from './server-context.js';
import { typeBoxValidatorCompiler } from './typebox-validator.js';

/** A PEM certificate (chain) and its private key. */
export interface TlsFiles {
  cert: string | Buffer;
  key: string | Buffer;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const DEFAULT_IMPORT_BODY_LIMIT = 64 * 1024 * 1024;

export interface BuildServerOptions {
  /** An open lockbox, or the promise of one (readiness follows it). */
  lockbox: ServerLockbox | Promise<ServerLockbox>;
  /** Logging (pino, with credential redaction); false for none. Default: info to stdout. */
  logger?: LoggerOptions | false;
  /** Request-body limit in bytes for every route but import (default 1 MiB). */
  bodyLimit?: number;
  /** Body limit for backup import uploads (default 64 MiB). */
  importBodyLimit?: number;
  /** Import previews and applies read at once; more are refused with IMPORT_BUSY (default 2). */
  importConcurrency?: number;
  /**
   * Failed-authentication limits: per client IP (default 10 a minute) and for all
   * clients together (default 1000 a minute); false to disable both.
   */
  authRateLimit?: AuthRateLimitOptions | false;
  /** How many unauthenticated failures per window are audited one by one (default 10). */
  authFailureAudit?: AuthFailureAuditOptions;
  /** Serve the web console's built files from this directory at / (only if it exists). */
  consoleDir?: string;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: TlsFiles;
  /** Trust X-Forwarded-For from these proxies (Fastify's trustProxy) for client IPs. */
  trustProxy?: boolean | string | string[];
  /** Keeps the key configuration in step with master rotations (see master-rotation-hook.ts). */
  masterRotationHook?: MasterRotationHook;
  /**
   * How long a verified bearer token is accepted from memory, in ms (default
   * 1000; 0: every request reads the token row). A token revoked through another
   * instance, or in the database, stops working here at most this long after the
   * revocation commits; revoked through this server, at once.
   */
  tokenCacheMs?: number;
}

export const DEFAULT_TOKEN_CACHE_MS = 1000;

/** A server built by buildServer, with the readiness it reports. */
export type LockboxServer = FastifyInstance & {
  readonly lockboxReadiness: Readiness<ServerLockbox>;
};

// Client-supplied request ids are kept (they correlate proxy and server logs) when they are plain.
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

function requestId(header: string | string[] | undefined): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

function httpsFactory(tls: TlsFiles): FastifyServerFactory {
  // An https.Server is an http.Server to Fastify (same request/response objects).
  return (handler) =>
    createHttpsServer({ cert: tls.cert, key: tls.key }, handler) as unknown as HttpServer;
}

export function buildServer(options: BuildServerOptions): LockboxServer {
  const readiness = new Readiness<ServerLockbox>(
    Promise.resolve(options.lockbox).then((lockbox) => {
      // Every read the API answers is audited: refuse a Lockbox that would not record it.
      if (!lockbox.secrets.audited) {
        throw new LockboxError(
          'INVALID_ARGUMENT',
          'the server needs a Lockbox opened with audit: true (every secret read over HTTP is recorded)',
        );
      }
      return lockbox;
    }),
  );
  const context: ServerContext = {
    readiness,
    limiter:
      options.authRateLimit === false ? undefined : new AuthFailureLimiter(options.authRateLimit),
    importBodyLimit: options.importBodyLimit ?? DEFAULT_IMPORT_BODY_LIMIT,
    masterRotationHook: options.masterRotationHook,
    failureAudit: new AuthFailureAudit({
      windowMs: options.authRateLimit === false ? undefined : options.authRateLimit?.windowMs,
      ...options.authFailureAudit,
    }),
    importGate: new ImportGate(options.importConcurrency),
    tokenCacheMs: options.tokenCacheMs ?? DEFAULT_TOKEN_CACHE_MS,
  };

  const loggerInstance: FastifyBaseLogger | undefined =
    options.logger === false ? undefined : createLogger(options.logger);
  const app = Fastify({
    ...(loggerInstance === undefined ? {} : { loggerInstance }),
    ...(options.tls === undefined ? {} : { serverFactory: httpsFactory(options.tls) }),
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    genReqId: (req) => requestId(req.headers['x-request-id']),
    trustProxy: options.trustProxy ?? false,
    // Refusals during shutdown go through our own hook, in our error format.
    return503OnClosing: false,
    // Close idle keep-alive sockets on shutdown; busy ones finish their request first.
    forceCloseConnections: 'idle',
    // The API is exactly the documented routes: no implicit HEAD twins (a HEAD of a
    // secret would run an audited read to send no body).
    exposeHeadRoutes: false,
    // Scopes and names are up to 256 characters, more once URL-encoded.
    routerOptions: { maxParamLength: 1024 },
    // Router and HTTP-parser refusals in Lockbox's error shape, too.
    frameworkErrors,
    clientErrorHandler,
  });

  // The summary of unauthenticated failures is written once its window ends, even
  // when no further failure arrives.
  const summaries = setInterval(() => {
    const lockbox = readiness.value;
    if (lockbox !== undefined) {
      context.failureAudit.flush(lockbox).catch((err: unknown) => {
        app.log.error({ err }, 'could not audit failed authentications');
      });
    }
  }, context.failureAudit.windowMs);
  summaries.unref();

  // Shutdown begins: /readyz turns 503 and new requests are refused while in-flight ones finish.
  app.addHook('preClose', async () => {
    clearInterval(summaries);
    readiness.close();
    const lockbox = readiness.value;
    if (lockbox !== undefined) {
      await context.failureAudit.flush(lockbox, true).catch((err: unknown) => {
        app.log.error({ err }, 'could not audit failed authentications');
      });
    }
  });

  app.setValidatorCompiler(typeBoxValidatorCompiler);
  installStrictJson(app);
  app.addSchema(ErrorBody);
  installErrorHandling(app);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (!readiness.accepting) throw new LockboxError('NOT_READY', 'the server is shutting down');
  });
  app.addHook('onSend', async (_request, reply) => {
    // During shutdown, a connection is closed after its response instead of idling
    // in keep-alive, so the listener can finish closing as soon as requests are done.
    if (!readiness.accepting) reply.header('connection', 'close');
  });

  app.register(fastifySwagger, openApiOptions());

  app.register(
    async (v1) => {
      v1.addHook('onSend', async (_request, reply) => {
        // API responses (a secret value among them) must not be cached by browsers or proxies.
        reply.header('cache-control', 'no-store');
        reply.header('x-content-type-options', 'nosniff');
      });
      installAuth(v1, context);
      secretsRoutes(v1, context);
      scopesRoutes(v1, context);
      fieldsRoutes(v1, context);
      envRoutes(v1, context);
      keysRoutes(v1, context);
      rotationRoutes(v1, context);
      recoveryRoutes(v1, context);
      // Encapsulated: only these routes accept binary (application/octet-stream) bodies.
      v1.register(async (backup) => backupRoutes(backup, context));
      auditRoutes(v1, context);
      tokensRoutes(v1, context);
      v1.get(
        '/openapi.json',
        {
          schema: {
            summary: 'This OpenAPI 3.1 document',
            tags: ['meta'],
            response: {
              200: Type.Object(
                {},
                { additionalProperties: true, description: 'The OpenAPI 3.1 document.' },
              ),
            },
          },
        },
        async () => app.swagger(),
      );
    },
    { prefix: '/v1' },
  );

  app.register(async (root) => healthRoutes(root, context));

  registerConsoleFiles(app, options.consoleDir);

  return Object.assign(app, { lockboxReadiness: readiness });
}
