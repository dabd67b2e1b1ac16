import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import { requestApp } from '../plugins/auth-plugin';
import { MESSAGE_BODY_LIMIT_BYTES } from '../request-errors';
import { assertAppOwns, refuseDirectSendOfApp } from '../services/messaging/app-notifications';
import type { ScheduleCaller } from '../services/send-schedules';
import { errorResponses } from '../schemas/common-schemas';
import {
  scheduleBodySchema,
  scheduleDetailSchema,
  scheduleIdParams,
  schedulePatchSchema,
  schedulesQuerySchema,
  scheduleSummarySchema,
} from '../schemas/schedules-schemas';

const scheduleUrl = (scheduleId: string) => `/schedules/${encodeURIComponent(scheduleId)}`;
const unknownSchedule = errorResponses({ 404: 'No schedule has this id' });
const refusals = errorResponses({
  400: 'A field is malformed: a bad cron, duration or time zone, or a send or messages body /send or /messages would refuse',
  404: 'The send or messages name a template (or provider) that does not exist',
  409: "A template or provider named is inactive, or the key's application registered notifications",
  503: 'messages.callback needs WEBHOOK_SECRET',
});

/**
 * Recurring sends on Temporal Schedules (docs/operating-sends.md "Recurring sends"): each firing is a send of its own,
 * read at `GET /sends/:sendId`. Changing a schedule needs the `send` scope, reading it `read`.
 */
export const scheduleRoutes: FastifyPluginAsyncZod = async (app) => {
  const { sendSchedules } = app;
  const { notifications } = app.repositories;

  /**
   * The caller of a body with `messages`, checked as `POST /messages` checks it: a key of an application that
   * registered notifications sends by notification only, and names no other application.
   */
  const callerOf = async (
    request: FastifyRequest,
    messages: { appId?: string } | undefined,
  ): Promise<ScheduleCaller> => {
    const keyApp = requestApp(request);
    if (messages) {
      await refuseDirectSendOfApp(notifications, keyApp, 'authorization', 'POST /messages/notifications');
      if (messages.appId !== undefined) assertAppOwns(keyApp, messages.appId, 'messages.appId');
    }
    return { apiKeyId: request.apiKey?.id ?? null, ...(keyApp !== null ? { appId: keyApp } : {}) };
  };

  app.post(
    '/schedules',
    {
      config: { scope: 'send', appForbidden: 'messages.appId names another application than the key' },
      bodyLimit: MESSAGE_BODY_LIMIT_BYTES,
      schema: {
        tags: ['schedules'],
        operationId: 'createSchedule',
        summary: 'Create a recurring send: a Temporal Schedule that starts a send at each firing',
        body: scheduleBodySchema,
        response: {
          201: scheduleDetailSchema.describe('Created; its first firings are in nextFirings'),
          ...refusals,
          ...errorResponses({
            409: "The scheduleId is taken, a template or provider named is inactive, or the key's application registered notifications",
          }),
        },
      },
    },
    async (request, reply) => {
      const schedule = await sendSchedules.create(request.body, await callerOf(request, request.body.messages));
      request.log.info({ scheduleId: schedule.scheduleId }, 'schedule created');
      return reply.code(201).header('location', scheduleUrl(schedule.scheduleId)).send(schedule);
    },
  );

  app.get(
    '/schedules',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['schedules'],
        operationId: 'listSchedules',
        summary: 'The recurring sends, in id order',
        querystring: schedulesQuerySchema,
        response: { 200: scheduleSummarySchema.array().describe('Schedules, in id order') },
      },
    },
    async (request) => sendSchedules.list(request.query.limit, request.query.skip),
  );

  app.get(
    '/schedules/:scheduleId',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['schedules'],
        operationId: 'getSchedule',
        summary: 'A recurring send: its times, the next firings, its last sends',
        params: scheduleIdParams,
        response: { 200: scheduleDetailSchema.describe('The schedule as it reads now'), ...unknownSchedule },
      },
    },
    async (request) => sendSchedules.describe(request.params.scheduleId),
  );

  app.patch(
    '/schedules/:scheduleId',
    {
      config: { scope: 'send', appForbidden: 'messages.appId names another application than the key' },
      bodyLimit: MESSAGE_BODY_LIMIT_BYTES,
      schema: {
        tags: ['schedules'],
        operationId: 'updateSchedule',
        summary: 'Change the times, the time zone or the send of the firings to come',
        params: scheduleIdParams,
        body: schedulePatchSchema,
        response: { 200: scheduleDetailSchema.describe('Changed'), ...refusals, ...unknownSchedule },
      },
    },
    async (request) =>
      sendSchedules.update(request.params.scheduleId, request.body, await callerOf(request, request.body.messages)),
  );

  for (const action of ['pause', 'unpause'] as const) {
    app.post(
      `/schedules/:scheduleId/${action}`,
      {
        config: { scope: 'send' },
        schema: {
          tags: ['schedules'],
          operationId: `${action}Schedule`,
          summary: action === 'pause' ? 'Stop the firings until unpaused' : 'Fire again at the times to come',
          params: scheduleIdParams,
          response: {
            200: scheduleDetailSchema.describe(action === 'pause' ? 'Paused' : 'Unpaused'),
            ...unknownSchedule,
          },
        },
      },
      async (request) => sendSchedules[action](request.params.scheduleId),
    );
  }

  app.post(
    '/schedules/:scheduleId/trigger',
    {
      config: { scope: 'send' },
      schema: {
        tags: ['schedules'],
        operationId: 'triggerSchedule',
        summary: 'Fire once now (skipped while the last send still runs)',
        params: scheduleIdParams,
        response: {
          202: z
            .object({ scheduleId: z.string(), statusUrl: z.string().describe('The schedule: its lastSends') })
            .describe('The firing is on its way'),
          ...unknownSchedule,
        },
      },
    },
    async (request, reply) => {
      const { scheduleId } = request.params;
      await sendSchedules.trigger(scheduleId);
      return reply.code(202).send({ scheduleId, statusUrl: scheduleUrl(scheduleId) });
    },
  );

  app.delete(
    '/schedules/:scheduleId',
    {
      config: { scope: 'send' },
      schema: {
        tags: ['schedules'],
        operationId: 'deleteSchedule',
        summary: 'Delete a recurring send; sends already started run to their end',
        params: scheduleIdParams,
        response: { 204: z.undefined().describe('Deleted; no body'), ...unknownSchedule },
      },
    },
    async (request, reply) => {
      await sendSchedules.delete(request.params.scheduleId);
      request.log.info({ scheduleId: request.params.scheduleId }, 'schedule deleted');
      return reply.code(204).send();
    },
  );
};
