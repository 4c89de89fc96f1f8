/**
 * The CLI's view of pixelrelay: its HTTP API over fetch, nothing else. It imports no server code, so it works
 * against any running relay, and its error handling only knows the API's one error shape.
 */

/** An answer in pixelrelay's error shape, or a failure to get one at all. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number | null,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export interface ApiOptions {
  baseUrl: string;
  /** Per request; a relay that does not answer within it is an error, not a hang. */
  timeoutMs?: number;
}

/** The bearer token a request carries: an API key or the admin token. */
export type Credentials = { token: string };

export class PixelRelayApi {
  private readonly baseUrl: string;

  constructor(private readonly options: ApiOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  /** A GET of a server-sent event stream: the response as it starts, its body still to be read. */
  async openStream(path: string, credentials: Credentials, headers: Record<string, string>, signal: AbortSignal): Promise<Response> {
    try {
      return await fetch(`${this.baseUrl}${path}`, {
        headers: { authorization: `Bearer ${credentials.token}`, accept: 'text/event-stream', ...headers },
        signal,
      });
    } catch (err) {
      const cause = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
      throw new ApiError(null, 'UNREACHABLE', `cannot reach pixelrelay at ${this.baseUrl}: ${cause}`);
    }
  }

  async request<T>(method: string, path: string, credentials: Credentials, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const json = body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } };
    return this.send<T>(method, path, credentials, json.body, { ...json.headers, ...headers });
  }

  /** A request whose body is given as it is sent (a FormData sets its own multipart content type). */
  async send<T>(method: string, path: string, credentials: Credentials, body?: RequestInit['body'], headers: Record<string, string> = {}): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${credentials.token}`, accept: 'application/json', ...headers },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
      });
    } catch (err) {
      const cause = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
      throw new ApiError(null, 'UNREACHABLE', `cannot reach pixelrelay at ${this.baseUrl}: ${cause}`);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (response.ok) return json as T;
    const error = json as { code?: unknown; message?: unknown; details?: unknown } | undefined;
    if (error && typeof error.code === 'string' && typeof error.message === 'string') {
      throw new ApiError(response.status, error.code, error.message, error.details);
    }
    throw new ApiError(response.status, `HTTP_${response.status}`, `pixelrelay answered ${response.status} ${response.statusText}`.trim());
  }
}
