/**
 * The console's only way to the server: requests under /v1 with the operator's
 * bearer token in the Authorization header (never in a URL, so it stays out of
 * history, logs and Referer headers).
 *
 * Contracts:
 * - A 2xx answer resolves: JSON as the parsed body, 204 as undefined, binary
 *   downloads as a Blob with the file name the server suggested.
 * - Anything else rejects with an ApiError (api-error.ts). A 401 also calls
 *   `onUnauthorized`, so the console can forget a token that stopped working.
 */
import { ApiError, apiErrorFrom } from './api-error.js';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface ApiClientOptions {
  /** Prefix of every path (default "/v1"). */
  base?: string;
  fetch?: FetchLike;
  /** Called when the server answers 401: the token is missing, unknown or revoked. */
  onUnauthorized?: (error: ApiError) => void;
}

export interface Download {
  blob: Blob;
  /** From Content-Disposition, when the server named the file. */
  filename: string | null;
}

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** Builds a path from literal parts and values, percent-encoding each value. */
export function path(parts: TemplateStringsArray, ...values: (string | number)[]): string {
  return parts.reduce(
    (out, part, i) => out + part + (i < values.length ? encodeURIComponent(String(values[i])) : ''),
    '',
  );
}

/** A query string (with its "?") from the defined entries, or "" when there are none. */
export function query(params: Record<string, string | number | boolean | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) search.set(key, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

const FILENAME = /filename="?([^";]+)"?/i;

export class ApiClient {
  readonly #token: string;
  readonly #base: string;
  readonly #fetch: FetchLike;
  readonly #onUnauthorized: ((error: ApiError) => void) | undefined;

  constructor(token: string, options: ApiClientOptions = {}) {
    this.#token = token;
    this.#base = options.base ?? '/v1';
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#onUnauthorized = options.onUnauthorized;
  }

  /** Sends `body` as JSON (when given) and resolves with the parsed JSON answer. */
  async json<T>(method: Method, route: string, body?: unknown): Promise<T> {
    const response = await this.#send(method, route, {
      accept: 'application/json',
      ...(body === undefined
        ? {}
        : { contentType: 'application/json', body: JSON.stringify(body) }),
    });
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  /** POSTs raw bytes (an uploaded file) with extra headers; resolves with the parsed JSON answer. */
  async upload<T>(route: string, body: Blob, headers: Record<string, string> = {}): Promise<T> {
    const response = await this.#send('POST', route, {
      accept: 'application/json',
      contentType: 'application/octet-stream',
      body,
      headers,
    });
    return (await response.json()) as T;
  }

  /** Sends `body` as JSON and resolves with the binary answer (an export). */
  async download(route: string, body: unknown): Promise<Download> {
    const response = await this.#send('POST', route, {
      accept: 'application/octet-stream',
      contentType: 'application/json',
      body: JSON.stringify(body),
    });
    const disposition = response.headers.get('content-disposition') ?? '';
    return { blob: await response.blob(), filename: FILENAME.exec(disposition)?.[1] ?? null };
  }

  async #send(
    method: Method,
    route: string,
    options: {
      accept: string;
      contentType?: string;
      body?: BodyInit;
      headers?: Record<string, string>;
    },
  ): Promise<Response> {
    const headers: Record<string, string> = {
      ...options.headers,
      authorization: `Bearer ${this.#token}`,
      accept: options.accept,
    };
    if (options.contentType !== undefined) headers['content-type'] = options.contentType;
    let response: Response;
    try {
      response = await this.#fetch(this.#base + route, {
        method,
        headers,
        // The token must not ride along anywhere else: no cookies, no cache.
        credentials: 'omit',
        cache: 'no-store',
        ...(options.body === undefined ? {} : { body: options.body }),
      });
    } catch (err) {
      throw new ApiError(0, 'NETWORK', err instanceof Error ? err.message : String(err));
    }
    if (response.ok) return response;
    const error = await apiErrorFrom(response);
    if (response.status === 401) this.#onUnauthorized?.(error);
    throw error;
  }
}
