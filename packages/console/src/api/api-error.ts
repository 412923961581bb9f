/**
 * An error answer from the Lockbox API, or a request that never got one.
 *
 * `code` is the stable code of the API's error body (`{ error: { code, message } }`);
 * `message` is the server's message, shown to the operator as it is: the server
 * promises it names scopes, names and fingerprints but never a key or a value.
 * A request that got no answer has status 0 and code NETWORK; an answer that is
 * not an API error body keeps its HTTP status and gets code HTTP_<status>.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** Reads an API error body; anything else becomes HTTP_<status> with the status text. */
export async function apiErrorFrom(response: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (typeof error?.code === 'string' && typeof error.message === 'string') {
    return new ApiError(response.status, error.code, error.message);
  }
  const text = response.statusText || `HTTP ${response.status}`;
  return new ApiError(response.status, `HTTP_${response.status}`, text);
}
