import { conflict, HttpError } from '../../../common/domain/http-errors';
import type { NotificationDocument, NotificationsRepository } from '../../../common/store/notifications-repository';

/**
 * Once an application registered a notification (whatever its review says), its keys send by notification only, so
 * that the tenant admin's review cannot be bypassed by sending the same template directly: a 409 naming `instead`.
 * `app` null (a key of no application, an admin key, no key checked) sends as it likes.
 */
export async function refuseDirectSendOfApp(
  notifications: Pick<NotificationsRepository, 'appHasNotification'>,
  app: string | null,
  field: string,
  instead: string,
): Promise<void> {
  if (app === null || !(await notifications.appHasNotification(app))) return;
  throw conflict(`${field}: application "${app}" has registered notifications, so its API keys send with ${instead}`);
}

/** A notification registered by, or sent with, a key of an application belongs to that application: a 403 otherwise. */
export function assertAppOwns(app: string | null, appId: string, field: string): void {
  if (app !== null && app !== appId)
    throw new HttpError(403, `${field}: this API key belongs to application "${app}", not "${appId}"`);
}

/** Why a notification cannot be sent now (a 409), or nothing while it is enabled. */
export function refuseUnlessEnabled(notification: NotificationDocument, field: string): void {
  if (notification.status === 'enabled') return;
  throw conflict(
    `${field}: "${notification.name}" is ${notification.status === 'pending' ? 'pending an admin review' : 'disabled by an admin'}`,
  );
}
