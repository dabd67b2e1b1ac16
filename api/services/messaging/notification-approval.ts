import { conflict } from '../../../common/domain/http-errors';
import { modeTemplateVersion } from '../../../common/store/template-versions-repository';
import type { NotificationDocument } from '../../../common/store/notifications-repository';
import {
  TEMPLATE_MODES,
  type TemplateMode,
  type TemplatesRepository,
} from '../../../common/store/templates-repository';

/** A channel whose template is not at the version its notification approved: what the next enable would approve. */
export interface PendingChange {
  template: string;
  /** Null while the notification was never enabled (or was enabled before versions were kept). */
  approvedVersion: number | null;
  /** Null when the template is gone. */
  currentVersion: number | null;
}

/**
 * The channels of a notification whose template's current version is not the approved one, or whose template is
 * gone, given the current version of each channel's template (null: gone).
 */
export function pendingChanges(
  notification: Pick<NotificationDocument, 'templates' | 'approvedVersions'>,
  currentVersions: Partial<Record<TemplateMode, number | null>>,
): Partial<Record<TemplateMode, PendingChange>> {
  const pending: Partial<Record<TemplateMode, PendingChange>> = {};
  for (const mode of TEMPLATE_MODES) {
    const template = notification.templates[mode];
    if (template === undefined) continue;
    const approvedVersion = notification.approvedVersions?.[mode] ?? null;
    const currentVersion = currentVersions[mode] ?? null;
    // A template gone is always shown: the next enable would be refused for it.
    if (approvedVersion !== currentVersion || currentVersion === null)
      pending[mode] = { template, approvedVersion, currentVersion };
  }
  return pending;
}

/**
 * The approval of a notification's templates: enabling it approves the version each channel's template is at, which
 * `POST /messages/notifications` and `POST /conversations` with `notification` then send until the next enable.
 */
export class NotificationApproval {
  constructor(private readonly templates: Pick<TemplatesRepository, 'currentVersion' | 'findModeTemplate'>) {}

  /** The current version of each of the notification's templates, recorded as kept; a 409 naming a template gone. */
  async versionsToApprove(notification: NotificationDocument): Promise<Partial<Record<TemplateMode, number>>> {
    const approved: Partial<Record<TemplateMode, number>> = {};
    for (const mode of TEMPLATE_MODES) {
      const name = notification.templates[mode];
      if (name === undefined) continue;
      const current = await this.templates.currentVersion(name);
      if (!current) throw conflict(`templates.${mode}: template "${name}" is gone, so it cannot be approved`);
      approved[mode] = current.version;
    }
    return approved;
  }

  /** The notification with its `approvedVersions` and `pendingChanges`, as `/notifications` answers it. */
  async describe(notification: NotificationDocument) {
    const currentVersions: Partial<Record<TemplateMode, number | null>> = {};
    for (const mode of TEMPLATE_MODES) {
      const name = notification.templates[mode];
      if (name === undefined) continue;
      const template = await this.templates.findModeTemplate(name);
      currentVersions[mode] = template ? modeTemplateVersion(template) : null;
    }
    return {
      ...notification,
      _id: notification._id.toHexString(),
      approvedVersions: notification.approvedVersions ?? {},
      pendingChanges: pendingChanges(notification, currentVersions),
    };
  }
}

/**
 * The version of its `channel` template a notification sends: the approved one; undefined (the latest) for a
 * notification enabled before versions were kept.
 */
export const approvedVersionOf = (notification: NotificationDocument, channel: TemplateMode): number | undefined =>
  notification.approvedVersions?.[channel];
