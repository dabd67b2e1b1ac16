import { ObjectId } from 'mongodb';
import { templateOfMessage, type ModeTemplateSource } from '../../activities/messages/dispatch-messages';
import { approvedVersionOf, pendingChanges } from '../../api/services/messaging/notification-approval';
import type { NotificationDocument } from '../../common/store/notifications-repository';
import {
  currentContentVersion,
  modeTemplateVersion,
  templateVersionId,
} from '../../common/store/template-versions-repository';
import type { ModeTemplateDocument } from '../../common/store/templates-repository';

describe('template versions and the approval of a notification', () => {
  const templates = { sms: 'otp sms', email: 'otp email' };

  it('lists as pending the channels whose current version is not the approved one', () => {
    expect(pendingChanges({ templates, approvedVersions: { sms: 2, email: 1 } }, { sms: 2, email: 1 })).toEqual({});
    expect(pendingChanges({ templates, approvedVersions: { sms: 2, email: 1 } }, { sms: 3, email: 1 })).toEqual({
      sms: { template: 'otp sms', approvedVersion: 2, currentVersion: 3 },
    });
    // Never approved: every channel is pending; a template gone is pending too.
    expect(pendingChanges({ templates }, { sms: 1, email: null })).toEqual({
      sms: { template: 'otp sms', approvedVersion: null, currentVersion: 1 },
      email: { template: 'otp email', approvedVersion: null, currentVersion: null },
    });
    // A channel the notification has no template for is never pending.
    expect(pendingChanges({ templates: { sms: 'otp sms' }, approvedVersions: { sms: 1 } }, { sms: 1 })).toEqual({});
  });

  it('sends the approved version of a channel, the latest when the notification approved none', () => {
    const notification = { templates, approvedVersions: { sms: 4 } } as unknown as NotificationDocument;
    expect(approvedVersionOf(notification, 'sms')).toBe(4);
    expect(approvedVersionOf(notification, 'email')).toBeUndefined();
    expect(approvedVersionOf({ templates } as unknown as NotificationDocument, 'sms')).toBeUndefined();
  });

  it('counts a template without a version as version 1, and keys its versions by id and number', () => {
    const now = new Date('2026-01-02T03:04:05Z');
    const template: ModeTemplateDocument = {
      _id: new ObjectId('65a1b2c3d4e5f60718293a4b'),
      name: 'otp sms',
      mode: 'sms',
      data: { body: 'otp {{otp}}' },
      isActive: true,
      tags: [],
      createdAt: now,
      updatedAt: now,
    };
    expect(modeTemplateVersion(template)).toBe(1);
    expect(modeTemplateVersion({ version: 7 })).toBe(7);
    expect(templateVersionId(template._id, 3)).toBe('65a1b2c3d4e5f60718293a4b:3');
    expect(currentContentVersion({ ...template, version: 2 })).toEqual({
      _id: '65a1b2c3d4e5f60718293a4b:2',
      templateId: '65a1b2c3d4e5f60718293a4b',
      name: 'otp sms',
      mode: 'sms',
      version: 2,
      data: { body: 'otp {{otp}}' },
      createdAt: now,
    });
  });

  it('reads the version a message names, else the latest', async () => {
    const asked: string[] = [];
    const source: ModeTemplateSource = {
      findModeTemplate: (name) => {
        asked.push(`latest ${name}`);
        return Promise.resolve(null);
      },
      findModeTemplateVersion: (name, version) => {
        asked.push(`${name}@${version}`);
        return Promise.resolve(null);
      },
    };
    await templateOfMessage(source, { template: 'otp sms' });
    await templateOfMessage(source, { template: 'otp sms', templateVersion: 2 });
    expect(asked).toEqual(['latest otp sms', 'otp sms@2']);
  });
});
