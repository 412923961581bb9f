/**
 * The server's pino logger.
 *
 * Contract: a log line never carries a bearer token, an age identity, a
 * passphrase or a request/response body (bodies hold secret values and keys).
 * Fastify logs no bodies by itself; the serializers below pin down exactly which
 * request and response fields are logged, and redaction covers the credential
 * headers in case a future serializer or a handler logs headers anyway. Every
 * line logged during a request carries its request id (`reqId`).
 */
import pino, { type DestinationStream, type Level, type Logger } from 'pino';

export interface LoggerOptions {
  /** Minimum level (default 'info'). */
  level?: Level;
  /** Where lines go (default stdout). Tests pass a stream to scan the output. */
  destination?: DestinationStream;
}

/** Headers that carry credentials; their values are censored wherever they appear. */
export const CREDENTIAL_HEADERS = [
  'authorization',
  'cookie',
  'x-lockbox-identity',
  'x-lockbox-passphrase',
] as const;

const REDACT_PATHS = CREDENTIAL_HEADERS.flatMap((h) => [
  `req.headers["${h}"]`,
  `headers["${h}"]`,
  `request.headers["${h}"]`,
]);

interface RequestLike {
  method?: string;
  url?: string;
  routeOptions?: { url?: string };
  ip?: string;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: {
        // The path only: a query string is not ours to log.
        req: (req: RequestLike) => ({
          method: req.method,
          url: typeof req.url === 'string' ? req.url.split('?')[0] : undefined,
          remoteAddress: req.ip,
        }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
        err: pino.stdSerializers.err,
      },
    },
    options.destination ?? pino.destination(1),
  );
}
