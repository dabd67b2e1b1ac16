import { z } from 'zod';
import { NOTIFICATION_STATUSES } from '../../common/store/notifications-repository';
import { objectIdString } from './common-schemas';
import { paginationQuerySchema } from './pagination-schemas';
import { categoryName } from './preferences-schemas';
import { resourceName } from './templates-schemas';

/** `POST /notifications` (the OS1 createNotifications): the mode template of each channel, by name. */
export const notificationCreateSchema = z.strictObject({
  appId: z.string().min(1).max(200).describe('The application that registers it'),
  name: resourceName.describe('Unique; what POST /messages/notifications names'),
  description: z.string().max(2000).optional(),
  templates: z
    .strictObject({
      sms: resourceName.optional(),
      email: resourceName.optional(),
      whatsapp: resourceName.optional(),
    })
    .refine((templates) => Object.values(templates).some((name) => name !== undefined), {
      message: 'names no template: one of sms, email, whatsapp is needed',
    })
    .describe('The name of a mode template of that mode, per channel'),
  category: categoryName
    .optional()
    .describe("Its messages' category unless a message names its own; over its templates' categories"),
});
export type NotificationCreate = z.infer<typeof notificationCreateSchema>;

const channelsOf = <T extends z.ZodType>(value: T) =>
  z.object({ sms: value.optional(), email: value.optional(), whatsapp: value.optional() });

/** A notification as the API answers it. */
export const notificationSchema = z.object({
  _id: objectIdString,
  appId: z.string(),
  name: z.string(),
  description: z.string().optional(),
  templates: z.object({ sms: z.string().optional(), email: z.string().optional(), whatsapp: z.string().optional() }),
  category: z.string().optional(),
  status: z.enum(NOTIFICATION_STATUSES).describe('pending until an admin enables or disables it'),
  createdAt: z.date(),
  updatedAt: z.date(),
  reviewedAt: z.date().optional(),
  approvedVersions: channelsOf(z.number().int()).describe(
    "The version of each channel's template the last enable approved: what the notification sends",
  ),
  pendingChanges: channelsOf(
    z.object({
      template: z.string(),
      approvedVersion: z.number().int().nullable().describe('null while never approved'),
      currentVersion: z.number().int().nullable().describe('null when the template is gone'),
    }),
  ).describe('The channels whose template changed since it was approved: what the next enable approves'),
});

export const notificationListQuerySchema = paginationQuerySchema.extend({
  appId: z.string().optional(),
  status: z.enum(NOTIFICATION_STATUSES).optional(),
});
