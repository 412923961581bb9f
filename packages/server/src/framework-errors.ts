/**
 * Failures Fastify and Node's HTTP parser answer before any route or error
 * handler runs, put in Lockbox's error shape with catalogue codes:
 *
 * - a URL that is not valid percent-encoding, and a path parameter over the
 *   router's limit (Fastify's frameworkErrors): REQUEST_INVALID;
 * - headers over Node's limit (the HTTP parser's clientError):
 *   REQUEST_HEADERS_TOO_LARGE, 431; any other malformed request: REQUEST_INVALID.
 *
 * None of the messages echo the URL or headers (they may carry a token or a name
 * the client did not mean to log).
 */
import type { Socket } from 'node:net';
import type { ErrorCode } from '@lockbox/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './error-reply.js';
import { statusFor } from './error-status.js';

const FRAMEWORK_MESSAGES: Record<string, string> = {
  FST_ERR_BAD_URL: 'the URL is not valid percent-encoded UTF-8',
  FST_ERR_MAX_PARAM_LENGTH: 'a path parameter is longer than the limit (1024 characters)',
};

/** Fastify's `frameworkErrors` option. */
export function frameworkErrors(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const message = FRAMEWORK_MESSAGES[error.code] ?? `the request was rejected (${error.code})`;
  request.log.info({ code: 'REQUEST_INVALID', cause: error.code }, 'request refused');
  reply.status(statusFor('REQUEST_INVALID')).send(errorBody('REQUEST_INVALID', message));
}

/** Fastify's `clientErrorHandler` option: answers on the raw socket, then closes it. */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  // A reset or already closed connection has no one to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, message]: [ErrorCode, string] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? ['REQUEST_HEADERS_TOO_LARGE', 'the request headers are larger than the limit']
      : ['REQUEST_INVALID', 'the request is not well-formed HTTP'];
  const status = statusFor(code);
  const body = JSON.stringify(errorBody(code, message));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
