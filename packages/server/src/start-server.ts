/**
 * startServer: build the API, listen, and shut down gracefully.
 *
 * Shutdown (SIGTERM or SIGINT, or `close()`): /readyz turns 503 and new requests
 * are refused with NOT_READY; the listener stops accepting connections and idle
 * keep-alive sockets are closed; requests already in flight run to completion;
 * then the lockbox is closed. If in-flight requests outlast `shutdownTimeoutMs`,
 * their sockets are destroyed so the process can still exit.
 *
 * startServer owns the lockbox it is given: it closes it on shutdown.
 */
import type { AddressInfo } from 'node:net';
import { type AuditAnchorOptions, AuditAnchorWriter } from './audit-anchor-writer.js';
import { type BuildServerOptions, buildServer, type LockboxServer } from './build-server.js';

export interface StartServerOptions extends BuildServerOptions {
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Port (default 8200; 0 picks a free one). */
  port?: number;
  /** Install SIGTERM/SIGINT handlers that shut down gracefully (default true). */
  handleSignals?: boolean;
  /** How long in-flight requests may take to finish on shutdown (default 30 s). */
  shutdownTimeoutMs?: number;
  /** Write audit anchors to the log (and a file) once ready and at an interval; false: none. */
  auditAnchors?: AuditAnchorOptions | false;
}

export interface RunningServer {
  app: LockboxServer;
  /** The URL the server listens on, e.g. http://127.0.0.1:8200. */
  url: string;
  /** Shuts down gracefully (see the module comment); idempotent. */
  close(): Promise<void>;
  /** Settles when the server has shut down, however that was started. */
  readonly closed: Promise<void>;
}

export const DEFAULT_PORT = 8200;
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;
const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const app = buildServer(options);
  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  const anchors =
    options.auditAnchors === false
      ? undefined
      : new AuditAnchorWriter(
          () => app.lockboxReadiness.value,
          app.log,
          options.auditAnchors ?? {},
        );
  app.addHook('onClose', async () => {
    // Wait for an open still in progress, so a lockbox never outlives the server.
    await app.lockboxReadiness.settled;
    await anchors?.stop();
    try {
      await app.lockboxReadiness.value?.close();
    } finally {
      resolveClosed();
    }
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const signal of SIGNALS) process.off(signal, onSignal);
      const timeout = setTimeout(() => {
        app.log.warn('shutdown timeout: closing the connections of unfinished requests');
        app.server.closeAllConnections();
      }, options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS);
      timeout.unref();
      try {
        await app.close();
      } finally {
        clearTimeout(timeout);
      }
    })();
    return closing;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    app.log.info({ signal }, 'shutting down');
    close().catch((err: unknown) => app.log.error({ err }, 'shutdown failed'));
  };
  if (options.handleSignals !== false) {
    for (const signal of SIGNALS) process.once(signal, onSignal);
  }

  try {
    await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? DEFAULT_PORT });
  } catch (err) {
    await close();
    throw err;
  }
  // The first anchor once the store is open (a failed open writes none).
  app.lockboxReadiness.settled.then(() => {
    if (closing === undefined) anchors?.start();
  });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${options.tls === undefined ? 'http' : 'https'}://${host}:${address.port}`;
  return { app, url, close, closed };
}
