import { request } from 'undici';

// Response bodies are checked by the tests' assertions; typing every provider's JSON would add nothing.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyJson = any;

export interface JsonResponse<T = AnyJson> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

/** Sends a request and parses the JSON answer (or returns the text when it is not JSON). */
export async function call<T = AnyJson>(
  url: string,
  options: { method?: string; headers?: Record<string, string>; json?: unknown; form?: Record<string, string> } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  let body: string | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  }
  const res = await request(url, { method: (options.method ?? (body ? 'POST' : 'GET')) as 'GET', headers, body });
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.statusCode, headers: res.headers, body: parsed as T };
}

export function basicAuth(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
}

/** An unsigned service-account style JWT: the simulator checks its shape and claims only. */
export function fakeJwt(claims: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const payload = {
    iss: 'svc@project.iam.gserviceaccount.com',
    scope: 'https://www.googleapis.com/auth/firebase.messaging',
    aud: 'https://oauth2.googleapis.com/token',
    iat: now,
    exp: now + 3600,
    ...claims,
  };
  return `${enc({ alg: 'RS256', typ: 'JWT' })}.${enc(payload)}.${Buffer.from('not-a-signature').toString('base64url')}`;
}

export async function reset(baseUrl: string): Promise<void> {
  await call(`${baseUrl}/messages`, { method: 'DELETE' });
  await call(`${baseUrl}/faults`, { method: 'DELETE' });
}

export async function setFault(baseUrl: string, fault: Record<string, unknown>): Promise<JsonResponse> {
  const res = await call(`${baseUrl}/faults`, { json: fault });
  if (res.status !== 200) throw new Error(`setting fault failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res;
}
