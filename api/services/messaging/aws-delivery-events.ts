import type { DeliveryReport } from '../../../common/store/messaging/delivery-reports-repository';

/** What an AWS event says of one message, in our words; null when it says nothing our statuses hold. */
export type AwsEventReport = Pick<DeliveryReport, 'provider' | 'providerMessageId' | 'status' | 'code' | 'error'>;

interface SesEvent {
  eventType?: string;
  mail?: { messageId?: string };
  bounce?: {
    bounceType?: string;
    bounceSubType?: string;
    bouncedRecipients?: { emailAddress?: string; diagnosticCode?: string; status?: string }[];
  };
  complaint?: { complainedRecipients?: { emailAddress?: string }[]; complaintFeedbackType?: string };
  reject?: { reason?: string };
}

interface PinpointSmsEvent {
  eventType?: string;
  messageId?: string;
  messageStatus?: string;
  messageStatusDescription?: string;
}

/**
 * Pinpoint SMS v2 (AWS End User Messaging SMS) events that end a message unsent; `TEXT_SENT`, `TEXT_PENDING`,
 * `TEXT_QUEUED` and `TEXT_SUCCESSFUL` say nothing past `sent`.
 */
const PINPOINT_FAILURES = new Set([
  'TEXT_INVALID',
  'TEXT_INVALID_MESSAGE',
  'TEXT_UNREACHABLE',
  'TEXT_CARRIER_UNREACHABLE',
  'TEXT_BLOCKED',
  'TEXT_CARRIER_BLOCKED',
  'TEXT_SPAM',
  'TEXT_UNKNOWN',
  'TEXT_TTL_EXPIRED',
]);

const codePart = (text: string | undefined) => (text ?? 'Undetermined').replace(/[^A-Za-z0-9]+/g, '');

/**
 * An SES v2 configuration-set event (the SNS message's `Message`, `eventType` and `mail`): `Delivery` is delivered,
 * `Open` is read, a `Bounce` (SES reports one only once it stopped trying) or a `Reject` is failed with SES's reason.
 * `Send`, `Complaint`, `DeliveryDelay`, `Click`, `Subscription` and `RenderingFailure` change no status: a complaint
 * comes of a delivered message, a delay is not the end of one.
 */
function sesReport(event: SesEvent): AwsEventReport | null {
  const providerMessageId = event.mail?.messageId;
  if (!providerMessageId) return null;
  const base = { provider: 'ses' as const, providerMessageId };
  switch (event.eventType) {
    case 'Delivery':
      return { ...base, status: 'delivered' };
    case 'Open':
      return { ...base, status: 'read' };
    case 'Bounce': {
      const recipient = event.bounce?.bouncedRecipients?.[0];
      return {
        ...base,
        status: 'failed',
        code: `SES_BOUNCE_${codePart(event.bounce?.bounceType)}_${codePart(event.bounce?.bounceSubType)}`,
        error: recipient?.diagnosticCode ?? `${event.bounce?.bounceType ?? 'Undetermined'} bounce`,
      };
    }
    case 'Reject':
      return { ...base, status: 'failed', code: 'SES_REJECT', error: event.reject?.reason ?? 'rejected' };
    default:
      return null;
  }
}

/** A Pinpoint SMS v2 event destination's event: `TEXT_DELIVERED` is delivered, the failures failed with AWS's words. */
function pinpointReport(event: PinpointSmsEvent): AwsEventReport | null {
  if (!event.messageId || !event.eventType) return null;
  const base = { provider: 'pinpoint' as const, providerMessageId: event.messageId };
  if (event.eventType === 'TEXT_DELIVERED') return { ...base, status: 'delivered' };
  if (PINPOINT_FAILURES.has(event.eventType))
    return {
      ...base,
      status: 'failed',
      code: `PINPOINT_${event.eventType}`,
      error: event.messageStatusDescription ?? event.messageStatus ?? event.eventType,
    };
  return null;
}

/**
 * The report of an SNS notification's `Message`: SES events carry `mail`, Pinpoint SMS ones a `TEXT_` event type.
 * Null for text that is no such event, or an event that moves no status.
 */
export function awsEventReport(message: string): AwsEventReport | null {
  let event: unknown;
  try {
    event = JSON.parse(message);
  } catch {
    return null;
  }
  if (typeof event !== 'object' || event === null) return null;
  const record = event as SesEvent & PinpointSmsEvent;
  if (record.mail) return sesReport(record);
  if (typeof record.eventType === 'string' && record.eventType.startsWith('TEXT_')) return pinpointReport(record);
  return null;
}

/** The email addresses an SES event says must not be mailed again, and why. */
export interface AwsEventSuppression {
  addresses: string[];
  reason: string;
  source: 'hard-bounce' | 'complaint';
}

/**
 * What an SES event puts on the email suppression list: the recipients of a permanent bounce (the mailbox does not
 * exist; a transient one may take mail later) and of a complaint (the recipient marked the mail as spam). Null for any
 * other event.
 */
export function awsEventSuppression(message: string): AwsEventSuppression | null {
  let event: SesEvent;
  try {
    event = JSON.parse(message) as SesEvent;
  } catch {
    return null;
  }
  if (typeof event !== 'object' || event === null || !event.mail) return null;
  const addressesOf = (recipients: { emailAddress?: string }[] | undefined) =>
    (recipients ?? []).flatMap(({ emailAddress }) => (typeof emailAddress === 'string' ? [emailAddress] : []));
  if (event.eventType === 'Bounce' && event.bounce?.bounceType === 'Permanent') {
    const addresses = addressesOf(event.bounce.bouncedRecipients);
    const reason = `SES hard bounce (${event.bounce.bounceSubType ?? 'Undetermined'})`;
    return addresses.length > 0 ? { addresses, reason, source: 'hard-bounce' } : null;
  }
  if (event.eventType === 'Complaint') {
    const addresses = addressesOf(event.complaint?.complainedRecipients);
    const reason = `SES complaint (${event.complaint?.complaintFeedbackType ?? 'unspecified'})`;
    return addresses.length > 0 ? { addresses, reason, source: 'complaint' } : null;
  }
  return null;
}
