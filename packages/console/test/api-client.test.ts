/** ApiClient against a recording fetch: headers, bodies, answers and errors. */
import { describe, expect, it, vi } from 'vitest';
import { ApiClient, type FetchLike, path, query } from '../src/api/api-client.js';
import { ApiError } from '../src/api/api-error.js';

interface Call {
  url: string;
  init: RequestInit;
}

function recorder(answer: () => Response | Promise<Response>): { fetch: FetchLike; calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    fetch: async (url, init) => {
      calls.push({ url, init });
      return answer();
    },
  };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('ApiClient', () => {
  it('sends the token as a bearer header under /v1 and never in the URL', async () => {
    const { fetch, calls } = recorder(() => json(200, { ok: true }));
    const client = new ApiClient('lbx_abc_secret', { fetch });
    await expect(client.json('GET', '/keys')).resolves.toEqual({ ok: true });
    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    expect(call.url).toBe('/v1/keys');
    expect(call.url).not.toContain('lbx_');
    expect((call.init.headers as Record<string, string>).authorization).toBe(
      'Bearer lbx_abc_secret',
    );
    expect(call.init.credentials).toBe('omit');
  });

  it('sends JSON bodies with a JSON content type and resolves 204 as undefined', async () => {
    const { fetch, calls } = recorder(() => new Response(null, { status: 204 }));
    const client = new ApiClient('t', { fetch });
    await expect(client.json('PUT', '/secrets/a/b', { value: 'v' })).resolves.toBeUndefined();
    const init = calls[0]!.init;
    expect(init.method).toBe('PUT');
    expect(init.body).toBe('{"value":"v"}');
    expect((init.headers as Record<string, string>)['content-type']).toBe('application/json');
  });

  it('rejects with the API error code and message', async () => {
    const { fetch } = recorder(() =>
      json(422, { error: { code: 'ROTATION_OLD_KEY_MISMATCH', message: 'old key is not 0123' } }),
    );
    const client = new ApiClient('t', { fetch });
    const error = await client.json('POST', '/rotation/master', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 422,
      code: 'ROTATION_OLD_KEY_MISMATCH',
      message: 'old key is not 0123',
    });
  });

  it('gives a non-API error answer the code HTTP_<status>', async () => {
    const { fetch } = recorder(() => new Response('<html>bad gateway</html>', { status: 502 }));
    const error = await new ApiClient('t', { fetch }).json('GET', '/keys').catch((e) => e);
    expect(error).toMatchObject({ status: 502, code: 'HTTP_502' });
  });

  it('turns a network failure into code NETWORK', async () => {
    const fetch: FetchLike = async () => {
      throw new TypeError('Failed to fetch');
    };
    const error = await new ApiClient('t', { fetch }).json('GET', '/keys').catch((e) => e);
    expect(error).toMatchObject({ status: 0, code: 'NETWORK', message: 'Failed to fetch' });
  });

  it('calls onUnauthorized on 401 and not on 403', async () => {
    const onUnauthorized = vi.fn();
    let status = 401;
    const { fetch } = recorder(() =>
      json(status, {
        error: { code: status === 401 ? 'AUTH_INVALID' : 'PERMISSION_DENIED', message: 'no' },
      }),
    );
    const client = new ApiClient('t', { fetch, onUnauthorized });
    await client.json('GET', '/keys').catch(() => undefined);
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
    expect(onUnauthorized.mock.calls[0]?.[0]).toMatchObject({ code: 'AUTH_INVALID' });
    status = 403;
    await client.json('GET', '/keys').catch(() => undefined);
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it('downloads binary answers with the suggested file name', async () => {
    const { fetch } = recorder(
      () =>
        new Response(new Uint8Array([1, 2, 3]), {
          status: 200,
          headers: { 'content-disposition': 'attachment; filename="lockbox-x.age"' },
        }),
    );
    const download = await new ApiClient('t', { fetch }).download('/backup/export', {});
    expect(download.filename).toBe('lockbox-x.age');
    expect(new Uint8Array(await download.blob.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
  });
});

describe('path and query', () => {
  it('percent-encodes each value but not the literal parts', () => {
    expect(path`/secrets/${'user:42'}/${'a/b c'}`).toBe('/secrets/user%3A42/a%2Fb%20c');
  });

  it('leaves out undefined parameters and the "?" when nothing is left', () => {
    expect(query({ a: undefined })).toBe('');
    expect(query({ order: 'desc', limit: 50, before: undefined })).toBe('?order=desc&limit=50');
  });
});
