/**
 * `lockbox serve`: the HTTP API (and the web console, when it has been built).
 *
 * The store is opened first, with the startup key check, and only then does the
 * server listen: if the configured keys open nothing (KEY_WRONG), no key is
 * configured (KEY_MISSING) or the store cannot be reached, the command fails
 * with that error before anything listens or logs "Server listening" — Lockbox
 * never comes up with a key that opens nothing. SIGTERM/SIGINT shut down gracefully
 * (in-flight requests finish, then the store closes).
 *
 * Every secret read and write made through the API is audited with the token's
 * id and name and the request id.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LockboxError } from '@lockbox/core';
import type { TlsFiles } from '@lockbox/server';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { keyFileRotationHook } from '../serve-key-files.js';

/**
 * The server's DEFAULT_PORT, repeated so that registering `serve` does not load
 * the server (Fastify costs every other command about half a second of start-up;
 * the server is imported only when `serve` runs). serve-command.test.ts checks
 * the two agree.
 */
export const SERVE_DEFAULT_PORT = 8200;

interface ServeOptions {
  host: string;
  port: string;
  tlsCert?: string;
  tlsKey?: string;
  consoleDir?: string;
  bodyLimit?: string;
  importLimit?: string;
  importConcurrency?: string;
  logLevel: string;
  auditAnchorInterval: string;
  auditAnchorFile?: string;
  authGlobalLimit: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

function integer(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new LockboxError('INVALID_ARGUMENT', `${flag} must be an integer from ${min} to ${max}`);
  }
  return value;
}

function readPem(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LockboxError(
      code === 'ENOENT' ? 'KEY_FILE_NOT_FOUND' : 'PATH_INVALID',
      `${flag} ${path} cannot be read${code === undefined ? '' : ` (${code})`}`,
      { cause: err },
    );
  }
}

function tlsFiles(options: ServeOptions): TlsFiles | undefined {
  if (options.tlsCert === undefined && options.tlsKey === undefined) return undefined;
  if (options.tlsCert === undefined || options.tlsKey === undefined) {
    throw new LockboxError('INVALID_ARGUMENT', '--tls-cert and --tls-key go together');
  }
  return {
    cert: readPem('--tls-cert', options.tlsCert),
    key: readPem('--tls-key', options.tlsKey),
  };
}

/**
 * The built console: packages/console/dist in the repository (the console
 * package resolves), else the copy `npm pack` bundles into this package
 * (scripts/bundle-console.mjs), else none (the API alone).
 */
function defaultConsoleDir(): string | undefined {
  try {
    const manifest = createRequire(import.meta.url).resolve('@lockbox/console/package.json');
    return join(dirname(manifest), 'dist');
  } catch {
    const bundled = fileURLToPath(new URL('../../console', import.meta.url));
    return existsSync(join(bundled, 'index.html')) ? bundled : undefined;
  }
}

export function registerServe(program: Command, context: CliContext): void {
  program
    .command('serve')
    .description('serve the HTTP API (and the web console, when built)')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port)', String(SERVE_DEFAULT_PORT))
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (with --tls-key)')
    .option('--tls-key <file>', 'the PEM private key for --tls-cert')
    .option('--console-dir <dir>', 'serve the web console from here (default: the built console)')
    .option('--body-limit <bytes>', 'request body limit (default 1 MiB)')
    .option('--import-limit <bytes>', 'body limit for backup imports (default 64 MiB)')
    .option('--import-concurrency <n>', 'bundles read at once; more get IMPORT_BUSY (default 2)')
    .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`, 'info')
    .option(
      '--audit-anchor-interval <seconds>',
      'write an audit anchor to the log this often (0: never)',
      '3600',
    )
    .option(
      '--auth-global-limit <failures>',
      'failed authentications a minute from all clients together before failures get RATE_LIMITED (0: no global limit)',
      '1000',
    )
    .option(
      '--audit-anchor-file <file>',
      'also write each audit anchor to this file (0600, replaced atomically)',
    )
    .action(async (options: ServeOptions, command: Command) => {
      const invocation = context.invocation(command);
      if (!LOG_LEVELS.includes(options.logLevel as LogLevel)) {
        throw new LockboxError(
          'INVALID_ARGUMENT',
          `--log-level must be one of ${LOG_LEVELS.join(', ')}`,
        );
      }
      const port = integer('--port', options.port, 0, 65_535);
      const limit = (flag: string, text: string | undefined) =>
        text === undefined ? undefined : integer(flag, text, 1024, 2 ** 32);
      const bodyLimit = limit('--body-limit', options.bodyLimit);
      const importBodyLimit = limit('--import-limit', options.importLimit);
      const importConcurrency =
        options.importConcurrency === undefined
          ? undefined
          : integer('--import-concurrency', options.importConcurrency, 1, 64);
      const tls = tlsFiles(options);
      const anchorSeconds = integer(
        '--audit-anchor-interval',
        options.auditAnchorInterval,
        0,
        86_400 * 7,
      );
      if (anchorSeconds === 0 && options.auditAnchorFile !== undefined) {
        throw new LockboxError('INVALID_ARGUMENT', '--audit-anchor-file needs an interval above 0');
      }
      const consoleDir = options.consoleDir ?? defaultConsoleDir();

      // A chain of its own: instances of the server append without waiting for each other.
      const lockbox = await invocation.open({ ownAuditChain: true });
      const { startServer } = await import('@lockbox/server');
      const running = await startServer({
        lockbox,
        masterRotationHook: keyFileRotationHook(await invocation.config(), async () => lockbox),
        host: options.host,
        port,
        logger: { level: options.logLevel as LogLevel },
        authRateLimit: {
          globalMax: integer('--auth-global-limit', options.authGlobalLimit, 0, 10_000_000),
        },
        auditAnchors:
          anchorSeconds === 0
            ? false
            : {
                intervalMs: anchorSeconds * 1000,
                ...(options.auditAnchorFile === undefined ? {} : { file: options.auditAnchorFile }),
              },
        ...(tls === undefined ? {} : { tls }),
        ...(consoleDir === undefined ? {} : { consoleDir }),
        ...(bodyLimit === undefined ? {} : { bodyLimit }),
        ...(importBodyLimit === undefined ? {} : { importBodyLimit }),
        ...(importConcurrency === undefined ? {} : { importConcurrency }),
      });
      invocation.output.note(`lockbox: serving on ${running.url}`);
      await running.closed;
    });
}
