import SwaggerParser from '@apidevtools/swagger-parser';
import { testApiKey } from '../support/api-keys';
import { startTestStack, type TestStack } from '../support/test-stack';

interface Schema {
  type?: string;
  required?: string[];
  properties?: Record<string, Schema>;
}
interface Response {
  description: string;
  content?: Record<string, { schema?: Schema }>;
}
interface Operation {
  operationId?: string;
  tags?: string[];
  parameters?: unknown[];
  requestBody?: unknown;
  security?: unknown[];
  responses: Record<string, Response>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  security?: unknown[];
}

/** The providers' webhooks need no API key: the token in their URL is their proof, and its absence their 401. */
const isWebhook = (route: string) => route.startsWith('POST /webhooks/');

/** Routes anyone may call: the index and health (the webhooks prove themselves otherwise, see `isWebhook`). */
const isPublicRoute = (route: string) =>
  route === 'GET /' || route.startsWith('GET /-/') || route.includes(' /unsubscribe/');

/** Answers that have no body by definition: a 204, and the 200 of a saga command. */
const EMPTY_ANSWERS = ['POST /saga/send 200'];

const ROUTES = [
  'GET /',
  'DELETE /templates/{id}',
  'DELETE /users/{id}',
  'GET /-/check-up',
  'GET /check-up',
  'GET /-/healthz',
  'GET /-/metrics',
  'GET /-/ready',
  'GET /sends',
  'GET /sends/{sendId}',
  'GET /sends/{sendId}/deliveries',
  'GET /templates',
  'GET /templates/{id}',
  'GET /templates/{id}/versions',
  'GET /templates/by-name/{name}',
  'GET /notifications',
  'GET /notifications/{id}',
  'POST /notifications',
  'POST /notifications/{id}/enable',
  'POST /notifications/{id}/disable',
  'DELETE /notifications/{id}',
  'GET /providers',
  'GET /providers/{name}',
  'POST /providers',
  'POST /messages',
  'POST /messages/notifications',
  'GET /messages',
  'GET /messages/{requestId}',
  'GET /callbacks/secret',
  'POST /conversations',
  'GET /conversations',
  'GET /conversations/{id}',
  'POST /webhooks/twilio/status',
  'POST /webhooks/twilio/inbound',
  'POST /webhooks/infobip/reports',
  'POST /webhooks/aws/events',
  'POST /webhooks/whatsapp/{provider}/communications',
  'PATCH /providers/{name}',
  'DELETE /providers/{name}',
  'GET /users',
  'GET /users/{id}',
  'GET /users/{id}/preferences',
  'PUT /users/{id}/preferences',
  'PATCH /users/{id}/preferences',
  'POST /suppressions',
  'GET /suppressions',
  'DELETE /suppressions/{channel}/{address}',
  'GET /unsubscribe/{token}',
  'POST /unsubscribe/{token}',
  'PATCH /templates/{id}',
  'PATCH /users/{id}',
  'POST /saga/send',
  'POST /send',
  'POST /sends/{sendId}/retry',
  'PATCH /sends/{sendId}',
  'DELETE /sends/{sendId}',
  'POST /sends/cancel',
  'PATCH /messages/{requestId}',
  'DELETE /messages/{requestId}',
  'POST /templates',
  'POST /templates/{id}/preview',
  'POST /codec/decode',
  'POST /codec/encode',
  'POST /users',
  'POST /erasures',
  'GET /placeholders',
  'PUT /placeholders',
  'GET /apps/{appId}/placeholders',
  'PUT /apps/{appId}/placeholders',
  'POST /events',
  'DELETE /events/{eventId}',
  'GET /digests',
  'GET /digests/{id}',
  'POST /digests/{id}/flush',
  'DELETE /digests/{id}',
  'POST /schedules',
  'GET /schedules',
  'GET /schedules/{scheduleId}',
  'PATCH /schedules/{scheduleId}',
  'POST /schedules/{scheduleId}/pause',
  'POST /schedules/{scheduleId}/unpause',
  'POST /schedules/{scheduleId}/trigger',
  'DELETE /schedules/{scheduleId}',
];

const operations = (document: Document) =>
  Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ route: `${method.toUpperCase()} ${path}`, operation })),
  );

async function documentOf(stack: TestStack): Promise<Document> {
  const response = await stack.app.inject({ method: 'GET', url: '/documentation/json' });
  expect(response.statusCode).toBe(200);
  return response.json<Document>();
}

/** The OpenAPI document is what a client is generated from (docs/api.md): it must say all that the API answers. */
describe('the OpenAPI document', () => {
  let open: TestStack;
  let secured: TestStack;
  beforeAll(async () => {
    [open, secured] = await Promise.all([
      startTestStack({ worker: false }),
      startTestStack({ worker: false, env: { API_KEYS: testApiKey('k1') } }),
    ]);
  });
  afterAll(() => Promise.all([open?.close(), secured?.close()]));

  it('is valid OpenAPI, with and without API keys', async () => {
    for (const stack of [open, secured]) {
      const document = await documentOf(stack);
      // validate() dereferences the document it is given in place.
      await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeDefined();
      expect(operations(document).map(({ route }) => route)).toEqual(expect.arrayContaining(ROUTES));
      expect(operations(document)).toHaveLength(ROUTES.length);
    }
  });

  it('names and tags every operation, once', async () => {
    const all = operations(await documentOf(open));
    const unnamed = all.filter(({ operation }) => !operation.operationId).map(({ route }) => route);
    expect(unnamed).toEqual([]);
    const untagged = all.filter(({ operation }) => !operation.tags?.length).map(({ route }) => route);
    expect(untagged).toEqual([]);
    const ids = all.map(({ operation }) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('gives every answer of every operation a schema and a description', async () => {
    const all = operations(await documentOf(open));
    const missing = all.flatMap(({ route, operation }) =>
      Object.entries(operation.responses)
        .filter(([status, response]) => {
          if (status === '204' || EMPTY_ANSWERS.includes(`${route} ${status}`)) return response.content !== undefined;
          const media = Object.values(response.content ?? {});
          return media.length === 0 || media.some((each) => !each.schema);
        })
        .map(([status]) => `${route} ${status}`),
    );
    expect(missing).toEqual([]);
    const undescribed = all.flatMap(({ route, operation }) =>
      Object.entries(operation.responses)
        // @fastify/swagger's word for a response whose schema has no description.
        .filter(([, response]) => response.description === 'Default Response')
        .map(([status]) => `${route} ${status}`),
    );
    expect(undescribed).toEqual([]);
  });

  it('declares a success, the error shape for every error, and the errors any input can cause', async () => {
    for (const { route, operation } of operations(await documentOf(open))) {
      const statuses = Object.keys(operation.responses);
      expect([route, statuses.some((status) => status.startsWith('2'))]).toEqual([route, true]);
      expect([route, statuses]).toEqual([route, expect.arrayContaining(['500'])]);
      if (operation.parameters?.length || operation.requestBody) {
        expect([route, statuses]).toEqual([route, expect.arrayContaining(['400'])]);
      }
      if (operation.requestBody) {
        expect([route, statuses]).toEqual([route, expect.arrayContaining(['413', '415'])]);
      }
      for (const [status, response] of Object.entries(operation.responses)) {
        // The readiness probes and the admin's check-up answer 503 with their own status body.
        const isProbe = route.startsWith('GET /-/') || route === 'GET /check-up';
        if (Number(status) < 400 || (isProbe && status === '503')) continue;
        const schema = response.content?.['application/json']?.schema;
        expect([route, status, schema?.required]).toEqual([
          route,
          status,
          expect.arrayContaining(['statusCode', 'error', 'message']),
        ]);
      }
    }
  });

  it('declares the answers routes give besides: 404 for unknown ids, 409 for conflicts, 503 for the Files Service', async () => {
    const document = await documentOf(open);
    const statuses = (route: string) =>
      Object.keys(operations(document).find((each) => each.route === route)!.operation.responses);
    expect(statuses('POST /send')).toEqual(expect.arrayContaining(['200', '202', '404', '503']));
    expect(statuses('POST /sends/{sendId}/retry')).toEqual(expect.arrayContaining(['202', '404', '409']));
    expect(statuses('POST /users')).toEqual(expect.arrayContaining(['201', '409']));
    expect(statuses('GET /templates/{id}')).toEqual(expect.arrayContaining(['404', '414']));
    expect(statuses('GET /-/ready')).toEqual(expect.arrayContaining(['200', '503']));
  });

  it('with API keys, requires a bearer key and declares its 401 on every operation but health', async () => {
    const document = await documentOf(secured);
    expect(document.security).toEqual([{ bearer: [] }]);
    for (const { route, operation } of operations(document)) {
      const isPublic = isPublicRoute(route) || isWebhook(route);
      expect([route, operation.security]).toEqual([route, isPublic ? [] : undefined]);
      expect([route, Object.keys(operation.responses).includes('401')]).toEqual([route, !isPublicRoute(route)]);
    }
    const openDocument = await documentOf(open);
    expect(
      operations(openDocument).filter(({ route, operation }) => '401' in operation.responses && !isWebhook(route)),
    ).toEqual([]);
  });

  it('with API keys, declares the 403 of a key without the scope on every operation but health', async () => {
    for (const { route, operation } of operations(await documentOf(secured))) {
      expect([route, Object.keys(operation.responses).includes('403')]).toEqual([
        route,
        // Amazon SNS's webhook answers 403 to a message whose SNS signature does not hold, not to a scope.
        (!isPublicRoute(route) && !isWebhook(route)) || route === 'POST /webhooks/aws/events',
      ]);
    }
    expect(
      operations(await documentOf(open)).filter(
        ({ route, operation }) => '403' in operation.responses && route !== 'POST /webhooks/aws/events',
      ),
    ).toEqual([]);
  });

  it("declares the rate limit's 429 on the sending routes only, and each route's body limit in its 413", async () => {
    for (const stack of [open, secured]) {
      const limited = operations(await documentOf(stack))
        .filter(({ operation }) => '429' in operation.responses)
        .map(({ route }) => route);
      expect(limited.sort()).toEqual([
        'DELETE /digests/{id}',
        'DELETE /events/{eventId}',
        'DELETE /messages/{requestId}',
        'DELETE /schedules/{scheduleId}',
        'DELETE /sends/{sendId}',
        'GET /callbacks/secret',
        'PATCH /messages/{requestId}',
        'PATCH /schedules/{scheduleId}',
        'PATCH /sends/{sendId}',
        'POST /conversations',
        'POST /digests/{id}/flush',
        'POST /events',
        'POST /messages',
        'POST /messages/notifications',
        'POST /notifications',
        'POST /saga/send',
        'POST /schedules',
        'POST /schedules/{scheduleId}/pause',
        'POST /schedules/{scheduleId}/trigger',
        'POST /schedules/{scheduleId}/unpause',
        'POST /send',
        'POST /sends/cancel',
        'POST /sends/{sendId}/retry',
      ]);
    }
    const document = await documentOf(open);
    const tooLarge = (route: string) =>
      operations(document).find((each) => each.route === route)!.operation.responses['413'].description;
    for (const route of [
      'POST /send',
      'POST /saga/send',
      'POST /templates',
      'PATCH /templates/{id}',
      'POST /schedules',
      'PATCH /schedules/{scheduleId}',
    ])
      expect([route, tooLarge(route)]).toEqual([route, expect.stringMatching(/^A body over 5 MB/)]);
    for (const route of ['POST /users', 'PATCH /users/{id}'])
      expect([route, tooLarge(route)]).toEqual([route, expect.stringMatching(/^A body over 64 KB/)]);
  });
});
