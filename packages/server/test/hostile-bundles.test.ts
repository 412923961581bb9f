/**
 * Hostile uploads do not stall the server: an scrypt work factor of 20 and a
 * 20,000-stanza header are refused at once with BUNDLE_TOO_EXPENSIVE (422), a
 * genuine passphrase bundle's scrypt runs off the event loop (so /healthz keeps
 * answering while it is processed), and imports beyond the concurrency bound are
 * refused with IMPORT_BUSY (503, Retry-After). Latencies are logged, not asserted.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { scryptBundle, stanzaBundle } from '@lockbox/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, startTestServer, type TestServer } from './helpers/test-server.js';

describe('hostile bundles over HTTP', () => {
  let server: TestServer;
  let token: string;
  /**
   * A genuine passphrase bundle. Work factor 16 (64 MiB), not the default 18, to
   * keep the suite fast; the scrypt runs on the same worker-thread path.
   */
  let genuine: Buffer;

  beforeAll(async () => {
    server = await startTestServer('sqlite', { importConcurrency: 1 });
    token = await server.token(['backup:import', 'secrets:read', 'secrets:write']);
    await server.lockbox.secrets.set('prod', 'db', 'pw');
    const { stream, done } = server.lockbox.backup.exportStream({
      encryption: { passphrase: 'correct horse', scryptWorkFactor: 16 },
    });
    genuine = Buffer.from(await new Response(stream).arrayBuffer());
    await done;
  });
  afterAll(async () => {
    await server.close();
  });

  const preview = (bundle: Buffer) =>
    server.app.inject({
      method: 'POST',
      url: '/v1/backup/import/preview',
      headers: {
        ...bearer(token),
        'content-type': 'application/octet-stream',
        'x-lockbox-passphrase': 'correct%20horse',
      },
      payload: bundle,
    });

  /** Polls /healthz until `work` settles; returns the latencies seen while it ran. */
  async function healthWhile<T>(work: Promise<T>): Promise<{ result: T; latencies: number[] }> {
    let settled = false;
    const watched = work.finally(() => {
      settled = true;
    });
    const latencies: number[] = [];
    while (!settled) {
      // A real client's next request arrives as I/O, after other callbacks ran.
      await delay(5);
      if (settled) break;
      const started = performance.now();
      const health = await server.app.inject({ method: 'GET', url: '/healthz' });
      expect(health.statusCode).toBe(200);
      if (!settled) latencies.push(performance.now() - started);
    }
    return { result: await watched, latencies };
  }

  function report(what: string, ms: number, latencies: number[]): void {
    const max = latencies.length === 0 ? 0 : Math.max(...latencies);
    console.info(
      `${what}: answered in ${ms.toFixed(0)} ms; /healthz answered ${latencies.length} times meanwhile, max ${max.toFixed(1)} ms`,
    );
  }

  it.each([
    ['an scrypt work factor of 20 (222 bytes)', () => scryptBundle(20)],
    ['20,000 recipient stanzas', () => stanzaBundle(20_000)],
  ])('refuses %s at once with BUNDLE_TOO_EXPENSIVE', async (what, make) => {
    const bundle = make();
    const started = performance.now();
    const { result, latencies } = await healthWhile(preview(bundle));
    report(what, performance.now() - started, latencies);
    expect(result.statusCode).toBe(422);
    expect(result.json().error.code).toBe('BUNDLE_TOO_EXPENSIVE');
  });

  it('keeps answering /healthz while a genuine passphrase bundle is processed', async () => {
    const started = performance.now();
    const { result, latencies } = await healthWhile(preview(genuine));
    report('genuine passphrase bundle (scrypt 2^16)', performance.now() - started, latencies);
    expect(result.statusCode).toBe(200);
    expect(result.json().totals.unchanged).toBe(1);
    // The scrypt ran on a worker thread: the event loop answered during it.
    expect(latencies.length).toBeGreaterThan(0);
  });

  it('refuses an import beyond the concurrency bound with IMPORT_BUSY and Retry-After', async () => {
    const [first, second] = await Promise.all([preview(genuine), preview(genuine)]);
    const statuses = [first.statusCode, second.statusCode].sort();
    expect(statuses).toEqual([200, 503]);
    const busy = first.statusCode === 503 ? first : second;
    expect(busy.json().error.code).toBe('IMPORT_BUSY');
    expect(busy.headers['retry-after']).toBe('2');
    // The slot is released: the next import is served.
    expect((await preview(genuine)).statusCode).toBe(200);
  });
});
