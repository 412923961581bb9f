/**
 * The CLI as a client of a Lockbox server (`lockbox run --server`, `lockbox env
 * --server`): where the server is, the token that authenticates to it, and one
 * JSON POST — so a host can get its scopes' secrets without ever holding a master
 * key or opening the store.
 *
 * The token comes from --token-file (which must be 0600, like a key file) or
 * LOCKBOX_TOKEN; it is sent only in the Authorization header and never printed.
 * https URLs are verified against the system's CAs, or against --ca-file
 * (LOCKBOX_CA_FILE) when given. A server error keeps its stable code; a server
 * that cannot be reached is SERVER_UNREACHABLE.
 */
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ERROR_CODES, type ErrorCode, LockboxError, readSecretFile } from '@lockbox/core';
import { ENV } from './config.js';

export interface ServerOptions {
  server?: string;
  tokenFile?: string;
  caFile?: string;
}

export interface ServerConnection {
  url: URL;
  token: string;
  ca: Buffer | undefined;
}

/** Requests that take longer than this are abandoned (SERVER_UNREACHABLE). */
const TIMEOUT_MS = 30_000;

/** Whether the command runs against a server: --server or LOCKBOX_URL. */
export function serverUrl(
  options: ServerOptions,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  const url = options.server ?? env[ENV.url];
  return url === undefined || url === '' ? undefined : url;
}

async function readToken(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readSecretFile(path);
  } catch (err) {
    if (err instanceof LockboxError && err.code.startsWith('KEY_FILE_')) {
      throw new LockboxError(err.code, err.message.replace(/^key file/, 'token file'), {
        details: err.details,
      });
    }
    throw err;
  }
  try {
    return bytes.toString('utf8').trim();
  } finally {
    bytes.fill(0);
  }
}

/** Resolves the server, token and CA. Throws INVALID_ARGUMENT for a bad URL or a missing token. */
export async function connectionFor(
  url: string,
  options: ServerOptions,
  env: Readonly<Record<string, string | undefined>>,
): Promise<ServerConnection> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new LockboxError('INVALID_ARGUMENT', `--server must be an http(s) URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new LockboxError('INVALID_ARGUMENT', `--server must be an http(s) URL`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new LockboxError('INVALID_ARGUMENT', '--server must not carry credentials; use a token');
  }
  const token =
    options.tokenFile !== undefined ? await readToken(options.tokenFile) : env[ENV.token]?.trim();
  if (token === undefined || token === '') {
    throw new LockboxError(
      'INVALID_ARGUMENT',
      `a server needs a token: set ${ENV.token} or pass --token-file (0600)`,
    );
  }
  const caFile = options.caFile ?? env[ENV.caFile];
  let ca: Buffer | undefined;
  if (caFile !== undefined && caFile !== '') {
    try {
      ca = await readFile(caFile);
    } catch {
      throw new LockboxError('PATH_INVALID', `cannot read the CA file ${caFile}`, {
        details: { path: caFile },
      });
    }
  }
  return { url: parsed, token, ca };
}

function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/** POSTs JSON to `path` (under the server URL) and returns the parsed answer, or throws its error. */
export function postJson(
  connection: ServerConnection,
  path: string,
  body: unknown,
): Promise<unknown> {
  const target = new URL(path.replace(/^\//, ''), `${connection.url.href.replace(/\/?$/, '/')}`);
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const where = target.origin;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${connection.token}`,
          'content-type': 'application/json',
          'content-length': String(payload.length),
          accept: 'application/json',
        },
        timeout: TIMEOUT_MS,
        ...(connection.ca === undefined ? {} : { ca: connection.ca }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (err) => reject(unreachable(where, err)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            reject(
              new LockboxError('SERVER_UNREACHABLE', `${where} did not answer as a Lockbox server`),
            );
            return;
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            resolve(json);
            return;
          }
          const error = (json as { error?: { code?: unknown; message?: unknown } }).error;
          const code = isErrorCode(error?.code) ? error.code : 'INTERNAL';
          const message = typeof error?.message === 'string' ? error.message : `HTTP ${status}`;
          reject(new LockboxError(code, `${where}: ${message}`, { details: { status } }));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', (err) => reject(unreachable(where, err)));
    req.end(payload);
  });
}

function unreachable(where: string, err: Error): LockboxError {
  const code = (err as NodeJS.ErrnoException).code;
  return new LockboxError(
    'SERVER_UNREACHABLE',
    `cannot reach the Lockbox server at ${where}: ${code ?? err.message}`,
    { cause: err, details: { server: where } },
  );
}
