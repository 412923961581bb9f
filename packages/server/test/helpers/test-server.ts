/**
 * A real server over a real store for HTTP tests: a fresh database of the given
 * dialect, an opened lockbox, tokens with chosen permissions, and every log line
 * the server writes captured in memory (for the canary scans).
 */
import { Writable } from 'node:stream';
import {
  type AuditEntry,
  type DialectName,
  generateMasterKey,
  Keyring,
  type Lockbox,
  openLockbox,
} from '@lockbox/core';
import { type BuildServerOptions, buildServer, type LockboxServer } from '@lockbox/server';
import { drivers, freshDatabase, type TestDatabase } from '@lockbox/test-helpers';

export class LogCapture extends Writable {
  readonly lines: string[] = [];
  #pending = '';

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.#pending += chunk.toString('utf8');
    const parts = this.#pending.split('\n');
    this.#pending = parts.pop() ?? '';
    this.lines.push(...parts.filter((line) => line.length > 0));
    done();
  }

  get text(): string {
    return this.lines.join('\n') + this.#pending;
  }

  records(): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

export interface TestServer {
  app: LockboxServer;
  lockbox: Lockbox;
  database: TestDatabase;
  masterKey: Buffer;
  logs: LogCapture;
  /** Creates a token (directly in core, as `lockbox token create` would) and returns its text. */
  token(permissions: string[], name?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startTestServer(
  dialect: DialectName,
  options: Partial<BuildServerOptions> = {},
): Promise<TestServer> {
  const database = await freshDatabase(dialect);
  const masterKey = generateMasterKey();
  const lockbox = await openLockbox({
    database: database.url,
    drivers,
    keyring: Keyring.fromBytes(masterKey),
    audit: true,
  });
  const logs = new LogCapture();
  const app = buildServer({
    lockbox,
    logger: { level: 'debug', destination: logs },
    ...options,
  });
  await app.ready();
  let counter = 0;
  return {
    app,
    lockbox,
    database,
    masterKey,
    logs,
    async token(permissions, name) {
      counter += 1;
      const created = await lockbox.tokens.create({
        name: name ?? `test-${counter}`,
        permissions,
      });
      return created.token;
    },
    async close() {
      await app.close();
      await lockbox.close();
      await database.drop();
    },
  };
}

export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

/** The audit entries a request wrote, found by the request id the server returned. */
export async function auditFor(
  lockbox: Lockbox,
  response: { headers: Record<string, unknown> },
): Promise<AuditEntry[]> {
  const requestId = response.headers['x-request-id'];
  if (typeof requestId !== 'string') throw new Error('response has no x-request-id');
  const entries = await lockbox.audit.list({ order: 'desc', limit: 1000 });
  return entries.filter((e) => e.requestId === requestId).reverse();
}
