import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MESSAGE_BODY_LIMIT_BYTES } from '../request-errors';
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
  400: 'A field is malformed: a bad cron, duration or time zone, or a send body /send would refuse',
  404: 'The send names a template that does not exist',
});

/**
 * Recurring sends on Temporal Schedules (docs/operating-sends.md "Recurring sends"): each firing is a send of its own,
 * read at `GET /sends/:sendId`. Changing a schedule needs the `send` scope, reading it `read`.
 */
export const scheduleRoutes: FastifyPluginAsyncZod = async (app) => {
  const { sendSchedules } = app;

  app.post(
    '/schedules',
    {
      config: { scope: 'send' },
      bodyLimit: MESSAGE_BODY_LIMIT_BYTES,
      schema: {
        tags: ['schedules'],
        operationId: 'createSchedule',
        summary: 'Create a recurring send: a Temporal Schedule that starts a send at each firing',
        body: scheduleBodySchema,
        response: {
          201: scheduleDetailSchema.describe('Created; its first firings are in nextFirings'),
          ...refusals,
          ...errorResponses({ 409: 'The scheduleId is taken' }),
        },
      },
    },
    async (request, reply) => {
      const schedule = await sendSchedules.create(request.body);
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
      config: { scope: 'send' },
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
    async (request) => sendSchedules.update(request.params.scheduleId, request.body),
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
