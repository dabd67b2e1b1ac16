import { awsEventSuppression } from '../../api/services/messaging/aws-delivery-events';

const ses = (event: object) => JSON.stringify({ mail: { messageId: 'm-1' }, ...event });

describe('awsEventSuppression: the SES events that stop mail to an address', () => {
  it('suppresses the recipients of a permanent bounce and of a complaint, nothing else', () => {
    const bounce = (bounceType: string) =>
      ses({
        eventType: 'Bounce',
        bounce: { bounceType, bounceSubType: 'General', bouncedRecipients: [{ emailAddress: 'a@x.io' }] },
      });
    expect(awsEventSuppression(bounce('Permanent'))).toEqual({
      addresses: ['a@x.io'],
      reason: 'SES hard bounce (General)',
      source: 'hard-bounce',
    });
    expect(awsEventSuppression(bounce('Transient'))).toBeNull();
    expect(
      awsEventSuppression(
        ses({
          eventType: 'Complaint',
          complaint: { complainedRecipients: [{ emailAddress: 'b@x.io' }], complaintFeedbackType: 'abuse' },
        }),
      ),
    ).toEqual({ addresses: ['b@x.io'], reason: 'SES complaint (abuse)', source: 'complaint' });
    expect(awsEventSuppression(ses({ eventType: 'Delivery' }))).toBeNull();
    expect(awsEventSuppression('not json')).toBeNull();
    expect(awsEventSuppression(JSON.stringify({ eventType: 'TEXT_DELIVERED' }))).toBeNull();
  });
});
