import { awsEventReport } from '../../api/services/messaging/aws-delivery-events';
import {
  SnsMessageVerifier,
  SnsVerificationError,
  type SnsMessage,
} from '../../api/services/messaging/sns-message-verifier';
import { pinpointSendTextInput } from '../../providers/pinpoint-provider';
import { sesSendEmailInput } from '../../providers/ses-provider';
import { SnsSigner } from '../../simulator/sns-signing';

const TOPIC = 'arn:aws:sns:ap-south-1:123456789012:ses-events';
const SNS_CERT_URL = 'https://sns.ap-south-1.amazonaws.com/SimpleNotificationService-0000.pem';
const signer = new SnsSigner();

/** A verifier whose certificate fetch answers the signer's certificate, counting the fetches. */
function verifierFor(trustedOrigin: string | null = null) {
  const fetched: string[] = [];
  const verifier = new SnsMessageVerifier({
    trustedOrigin,
    fetchText: async (url) => {
      fetched.push(url);
      return signer.certificatePem;
    },
  });
  return { verifier, fetched };
}

const event = { eventType: 'Delivery', mail: { messageId: 'ses-1' } };
const notification = (version: '1' | '2' = '2', certUrl = SNS_CERT_URL, topic = TOPIC) =>
  signer.notification(topic, event, certUrl, version) as unknown as SnsMessage;

describe('Amazon SNS message signatures', () => {
  it.each(['1', '2'] as const)(
    'takes a message signed with SignatureVersion %s, fetching the certificate once',
    async (version) => {
      const { verifier, fetched } = verifierFor();
      await verifier.verify(notification(version));
      await verifier.verify(notification(version));
      expect(fetched).toEqual([SNS_CERT_URL]);
    },
  );

  it('takes a subscription confirmation, whose Token and SubscribeURL are signed', async () => {
    const { verifier } = verifierFor();
    const confirmation = signer.signed({
      Type: 'SubscriptionConfirmation',
      MessageId: 'm-1',
      TopicArn: TOPIC,
      Message: 'You have chosen to subscribe to the topic',
      Timestamp: new Date().toISOString(),
      SignatureVersion: '2',
      SigningCertURL: SNS_CERT_URL,
      SubscribeURL: 'https://sns.ap-south-1.amazonaws.com/?Action=ConfirmSubscription&Token=t',
      Token: 't',
    }) as unknown as SnsMessage;
    await expect(verifier.verify(confirmation)).resolves.toBeUndefined();
    await expect(verifier.verify({ ...confirmation, Token: 'other' })).rejects.toThrow(SnsVerificationError);
  });

  it.each([
    ['its Message', (m: SnsMessage) => ({ ...m, Message: m.Message.replace('Delivery', 'Open') })],
    ['its MessageId', (m: SnsMessage) => ({ ...m, MessageId: 'another' })],
    ['a Subject was added or', (m: SnsMessage) => ({ ...m, Subject: 'added' })],
    ['its SignatureVersion', (m: SnsMessage) => ({ ...m, SignatureVersion: '1' as const })],
  ])('refuses a message when %s changed after signing', async (_name, tamper) => {
    const { verifier } = verifierFor();
    await expect(verifier.verify(tamper(notification()))).rejects.toThrow('Signature: does not match');
  });

  it.each([
    ['another host', 'https://attacker.example.com/SimpleNotificationService-0000.pem'],
    ['a look-alike host', 'https://sns.ap-south-1.amazonaws.com.attacker.example/cert.pem'],
    ["another region's host", 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem'],
    ['plain http', 'http://sns.ap-south-1.amazonaws.com/SimpleNotificationService-0000.pem'],
    ['another port', 'https://sns.ap-south-1.amazonaws.com:8443/SimpleNotificationService-0000.pem'],
    ['no .pem', 'https://sns.ap-south-1.amazonaws.com/certificate'],
    ["the simulator's host outside the development profile", 'http://127.0.0.1:4010/sns/cert.pem'],
  ])('refuses a certificate URL on %s, fetching nothing', async (_name, certUrl) => {
    const { verifier, fetched } = verifierFor();
    await expect(verifier.verify(notification('2', certUrl))).rejects.toThrow('SigningCertURL');
    expect(fetched).toEqual([]);
  });

  it('trusts the configured origin (the simulator, in the development profile) and no other', async () => {
    const { verifier } = verifierFor('http://127.0.0.1:4010');
    await verifier.verify(notification('2', 'http://127.0.0.1:4010/sns/cert.pem'));
    await expect(verifier.verify(notification('2', 'http://127.0.0.1:4011/sns/cert.pem'))).rejects.toThrow(
      'SigningCertURL',
    );
  });

  it('refuses a topic ARN that is not one', async () => {
    const { verifier } = verifierFor();
    await expect(verifier.verify(notification('2', SNS_CERT_URL, 'arn:aws:s3:::bucket'))).rejects.toThrow('TopicArn');
  });

  it("refuses a signature made with another key than the certificate's", async () => {
    const other = new SnsSigner();
    const { verifier } = verifierFor();
    const forged = other.notification(TOPIC, event, SNS_CERT_URL) as unknown as SnsMessage;
    await expect(verifier.verify(forged)).rejects.toThrow('Signature: does not match');
  });
});

describe('SES and Pinpoint SMS events in our statuses', () => {
  const ses = (fields: object) => JSON.stringify({ mail: { messageId: 'ses-1' }, ...fields });
  it.each([
    ['SES Delivery', ses({ eventType: 'Delivery' }), { provider: 'ses', status: 'delivered' }],
    ['SES Open', ses({ eventType: 'Open' }), { provider: 'ses', status: 'read' }],
    [
      'SES permanent Bounce',
      ses({
        eventType: 'Bounce',
        bounce: {
          bounceType: 'Permanent',
          bounceSubType: 'NoEmail',
          bouncedRecipients: [{ diagnosticCode: 'smtp; 550 no such user' }],
        },
      }),
      { status: 'failed', code: 'SES_BOUNCE_Permanent_NoEmail', error: 'smtp; 550 no such user' },
    ],
    [
      'SES Reject',
      ses({ eventType: 'Reject', reject: { reason: 'Bad content' } }),
      { status: 'failed', code: 'SES_REJECT', error: 'Bad content' },
    ],
    [
      'Pinpoint TEXT_DELIVERED',
      JSON.stringify({ eventType: 'TEXT_DELIVERED', messageId: 'sms-1' }),
      { provider: 'pinpoint', providerMessageId: 'sms-1', status: 'delivered' },
    ],
    [
      'Pinpoint TEXT_CARRIER_UNREACHABLE',
      JSON.stringify({
        eventType: 'TEXT_CARRIER_UNREACHABLE',
        messageId: 'sms-1',
        messageStatusDescription: 'The carrier is unreachable',
      }),
      { status: 'failed', code: 'PINPOINT_TEXT_CARRIER_UNREACHABLE', error: 'The carrier is unreachable' },
    ],
  ])('%s', (_name, message, expected) => {
    expect(awsEventReport(message)).toMatchObject(expected);
  });

  it.each([
    ['SES Complaint', ses({ eventType: 'Complaint' })],
    ['SES DeliveryDelay', ses({ eventType: 'DeliveryDelay' })],
    ['SES Send', ses({ eventType: 'Send' })],
    ['Pinpoint TEXT_SUCCESSFUL', JSON.stringify({ eventType: 'TEXT_SUCCESSFUL', messageId: 'sms-1' })],
    ['not JSON', 'hello'],
    ['another service', JSON.stringify({ eventType: 'Other' })],
  ])('%s moves no status', (_name, message) => {
    expect(awsEventReport(message)).toBeNull();
  });
});

describe('the configuration set whose SNS event destination publishes the events', () => {
  it('is named in every SES email and Pinpoint SMS of a provider that sets it, and in none of one that does not', () => {
    const email = {
      from: 'a@example.com',
      to: 'b@example.com',
      cc: [],
      bcc: [],
      subject: 's',
      html: '<p>h</p>',
      attachments: [],
    };
    expect(sesSendEmailInput(email, { configurationSetName: 'messaging-events' }).ConfigurationSetName).toBe(
      'messaging-events',
    );
    expect(sesSendEmailInput(email)).not.toHaveProperty('ConfigurationSetName');
    const aws = { accessKeyId: 'AK', secretAccessKey: 's', region: 'us-east-1' };
    const sms = { from: '', to: '+15551234567', body: 'x' };
    expect(pinpointSendTextInput(sms, { ...aws, configurationSetName: 'sms-events' }).ConfigurationSetName).toBe(
      'sms-events',
    );
    expect(pinpointSendTextInput(sms, aws)).not.toHaveProperty('ConfigurationSetName');
  });
});
