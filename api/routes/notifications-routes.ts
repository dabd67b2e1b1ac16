import { isDeepStrictEqual } from 'node:util';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { badRequest, conflict } from '../../common/domain/http-errors';
import type { NotificationDocument } from '../../common/store/notifications-repository';
import { TEMPLATE_MODES } from '../../common/store/templates-repository';
import { errorResponses, objectIdString } from '../schemas/common-schemas';
import {
  notificationCreateSchema,
  notificationListQuerySchema,
  notificationSchema,
  type NotificationCreate,
} from '../schemas/notifications-schemas';
import { requestApp } from '../plugins/auth-plugin';
import { assertAppOwns } from '../services/messaging/app-notifications';
import { NotificationApproval } from '../services/messaging/notification-approval';
import { resourceById } from './resource-by-id';

const idParams = z.object({ id: objectIdString });
const { unknownId, found, registerGet, registerDelete } = resourceById('notification', idParams);

/**
 * `/notifications` (docs/api.md): an application registers a notification with the mode template of each channel
 * (`send` scope; a key of an application registers that application's only); it is `pending` until an admin enables or disables it (`admin` scope), and
 * `POST /messages/notifications` sends it only while it is enabled, with the template versions its last enable approved.
 */
export const notificationRoutes: FastifyPluginAsyncZod = async (app) => {
  const { notifications, templates } = app.repositories;
  const approval = new NotificationApproval(templates);
  const present = (doc: NotificationDocument) => approval.describe(doc);

  /** Each named template must be a mode template of its channel's mode: a 400 naming `templates.<channel>`. */
  const checkTemplates = async (names: NotificationCreate['templates']) => {
    for (const mode of TEMPLATE_MODES) {
      const name = names[mode];
      if (name === undefined) continue;
      const template = await templates.findModeTemplate(name);
      if (!template) throw badRequest(`templates.${mode}: no mode template is named "${name}"`);
      if (template.mode !== mode)
        throw badRequest(`templates.${mode}: template "${name}" has mode ${template.mode}, not ${mode}`);
    }
  };

  app.get(
    '/notifications',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['notifications'],
        operationId: 'listNotifications',
        summary: 'List notifications, by application and status',
        querystring: notificationListQuerySchema,
        response: { 200: notificationSchema.array().describe('A page of notifications') },
      },
    },
    async (request) => Promise.all((await notifications.list(request.query)).map(present)),
  );

  registerGet(app, 'getNotification', notificationSchema, (id) => notifications.findById(id), present);

  app.post(
    '/notifications',
    {
      config: { scope: 'send', appForbidden: 'the key belongs to another application than appId' },
      schema: {
        tags: ['notifications'],
        operationId: 'createNotification',
        summary: "Register a notification for an admin's review; it starts pending",
        body: notificationCreateSchema,
        response: {
          201: notificationSchema.describe('Registered, pending'),
          ...errorResponses({ 409: 'A notification of this name exists' }),
        },
      },
    },
    async (request, reply) => {
      const { description, ...fields } = request.body;
      assertAppOwns(requestApp(request), fields.appId, 'appId');
      await checkTemplates(fields.templates);
      const doc = notifications.newDocument({ ...fields, ...(description !== undefined ? { description } : {}) });
      if (!(await notifications.insert(doc))) throw conflict(`name: a notification named "${fields.name}" exists`);
      return reply.code(201).send(await present(doc));
    },
  );

  const review = {
    enable: async (id: string) => {
      const notification = found(await notifications.findById(id), id);
      const versions = await approval.versionsToApprove(notification);
      // Enabling what is enabled, with nothing new to approve, changes nothing (not even reviewedAt).
      if (notification.status === 'enabled' && isDeepStrictEqual(notification.approvedVersions, versions))
        return notification;
      return notifications.enable(id, versions);
    },
    disable: (id: string) => notifications.review(id, 'disabled'),
  };
  for (const [action, summary, answer] of [
    [
      'enable',
      "An admin's review: enable a notification (pending or not), approving the current version of each of its templates",
      'The notification, enabled, with the versions it approved',
    ],
    ['disable', "An admin's review: disable a notification (pending or not)", 'The notification, disabled'],
  ] as const) {
    app.post(
      `/notifications/:id/${action}`,
      {
        config: { scope: 'admin' },
        schema: {
          tags: ['notifications'],
          operationId: `${action}Notification`,
          summary,
          params: idParams,
          response: {
            200: notificationSchema.describe(answer),
            ...unknownId,
            ...(action === 'enable' ? errorResponses({ 409: 'A template the notification names is gone' }) : {}),
          },
        },
      },
      async (request) => present(found(await review[action](request.params.id), request.params.id)),
    );
  }

  registerDelete(app, 'deleteNotification', (id) => notifications.remove(id));
};
