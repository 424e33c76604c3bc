// The one way the pages talk to the platform: the public /v1 API, with the browser
// session in HttpOnly cookies. State-changing requests echo the CSRF cookie in
// X-CSRF-Token; an expired access token is refreshed once, then the request repeats.

/** An error answer: `{"error": {"code", "message", "field"}}` and its status. */
export class ApiError extends Error {
  status: number;
  code: string;
  field?: string;
  quota?: Record<string, unknown>;

  constructor(status: number, body: { code?: string; message?: string; field?: string; quota?: Record<string, unknown> } | null) {
    super(body?.message ?? `the server answered ${status}`);
    this.status = status;
    this.code = body?.code ?? 'error';
    this.field = body?.field;
    this.quota = body?.quota;
  }
}

/** The session's CSRF token (present while a browser session lives). */
export function csrfToken(): string | undefined {
  const match = document.cookie.match(/(?:^|;\s*)kronos_csrf=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : undefined;
}

let refreshing: Promise<boolean> | null = null;

/** Renews the session's access token from its refresh cookie (one renewal at a time). */
function renew(): Promise<boolean> {
  refreshing ??= send('POST', '/v1/auth/refresh', {})
    .then((r) => r.ok)
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

function send(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') {
    const token = csrfToken();
    if (token) headers['x-csrf-token'] = token;
  }
  return fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
}

/** Calls the API; resolves to the JSON answer (undefined for 204), throws ApiError. */
export async function api<T = any>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  let response = await send(method, path, body, signal);
  // a session (its CSRF cookie lives as long as its refresh token) renews once
  if (response.status === 401 && csrfToken() && !path.startsWith('/v1/auth/') && (await renew())) {
    response = await send(method, path, body, signal);
  }
  if (response.status === 204) return undefined as T;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data?.error ?? null);
  return data as T;
}

export const get = <T = any>(path: string, signal?: AbortSignal) => api<T>('GET', path, undefined, signal);
export const post = <T = any>(path: string, body: unknown = {}) => api<T>('POST', path, body);

/** Query string from the defined entries of `params`. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
