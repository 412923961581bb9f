/**
 * The web console's built files, served at / when their directory exists (the
 * console is built separately; a server without it serves the API alone).
 *
 * The console handles secret values, so its pages get a strict Content Security
 * Policy — scripts only from this origin, no framing, requests only to this
 * origin's API — and are never cached by intermediaries.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/** Registers the console at / when `dir` is an existing directory; returns whether it did. */
export function registerConsoleFiles(app: FastifyInstance, dir: string | undefined): boolean {
  if (dir === undefined) return false;
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) return false;
  app.register(async (files) => {
    files.addHook('onSend', async (_request, reply) => {
      reply.header('content-security-policy', CONSOLE_CSP);
      reply.header('x-frame-options', 'DENY');
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
      reply.header('cache-control', 'no-cache');
    });
    await files.register(fastifyStatic, { root, prefix: '/', index: ['index.html'] });
  });
  return true;
}
