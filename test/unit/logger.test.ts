import { ApplicationFailure } from '@temporalio/common';
import pino from 'pino';
import { Writable } from 'node:stream';
import { loggerOptions, maskPersonalData, REDACTED } from '../../common/config/logger';
import { PinoSdkLogger } from '../../worker/runtime-logger';

/** A pino logger with the service's redaction, writing its lines into an array. */
function capture(redactFields?: string[]) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino(loggerOptions('trace', { redactFields }), stream), lines };
}

describe('maskPersonalData (docs/internals.md "Logs")', () => {
  it.each([
    [
      "The 'To' number +393331234567 is not a valid phone number.",
      "The 'To' number [phone] is not a valid phone number.",
    ],
    ['Invalid number 393331234567', 'Invalid number [phone]'],
    ['call +39 333 123 4567 now', 'call [phone] now'],
    ['550 5.1.1 <mario.rossi+x@example.co.uk>: rejected', '550 5.1.1 <[email]>: rejected'],
    ['/users?emailAddress=mario%40example.com&limit=1', '/users?emailAddress=[email]&limit=1'],
    ['smtp://mailer:s3cret@smtp.example.com:587', `smtp://${REDACTED}@smtp.example.com:587`],
    ['mongodb://mario@example.com:pw@db:27017/messaging', `mongodb://${REDACTED}@db:27017/messaging`],
    ['Authorization: Bearer abc.def-123', `Authorization: Bearer ${REDACTED}`],
    ['/hook?token=abc123&x=1', `/hook?token=${REDACTED}&x=1`],
    ['token dGhpcyBpcyBhIHRva2Vu:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx refused', 'token [device token] refused'],
  ])('masks %j', (text, masked) => {
    expect(maskPersonalData(text)).toBe(masked);
  });

  it.each([
    'send-81098b2b-09eb-4765-9268-936ac1986782|sms|64a000000000000000000001',
    'StartTime > "2026-11-26T00:00:00Z" on 2026-11-26',
    'dayjs 01/01/2021, version 1.24.2, http://127.0.0.1:4010/messages, pino@10.4.0',
    'sent 12 of 250 in 1500 ms',
    'at async Activity.execute (/work/main/node_modules/@temporalio/worker/src/activity.ts:145:14)',
  ])('leaves ids, dates, versions, counts and stacks alone: %j', (text) => {
    expect(maskPersonalData(text)).toBe(text);
  });
});

describe('loggerOptions', () => {
  it('redacts named fields at any depth, configured ones too, and masks every string, the message included', () => {
    const { logger, lines } = capture(['cellulare']);
    logger.info(
      {
        sendId: 'send-1',
        count: 12345678901,
        req: { headers: { Authorization: 'Bearer k', 'x-api-key': 'k' }, url: '/users?email=a@example.com' },
        user: { emailAddress: 'a@example.com', phone_number: '+393331234567', deviceToken: 't', cellulare: '333' },
        message: { subject: 's', text: 't', html: '<p>h</p>', body: 'b', to: ['a@example.com'] },
      },
      'sent to a@example.com',
    );
    expect(lines[0]).toMatchObject({
      sendId: 'send-1',
      count: 12345678901,
      req: { headers: { Authorization: REDACTED, 'x-api-key': REDACTED }, url: '/users?email=[email]' },
      user: { emailAddress: REDACTED, phone_number: REDACTED, deviceToken: REDACTED, cellulare: REDACTED },
      message: { subject: REDACTED, text: REDACTED, html: REDACTED, body: REDACTED, to: REDACTED },
      msg: 'sent to [email]',
    });
  });

  it('masks an error serialized by pino, message and stack', () => {
    const { logger, lines } = capture();
    logger.error({ err: new Error('duplicate key: { emailAddress: "a@example.com" }') }, 'write failed');
    const err = lines[0].err as { message: string; stack: string };
    expect(err.message).toBe('duplicate key: { emailAddress: "[email]" }');
    expect(err.stack).not.toContain('a@example.com');
  });
});

describe('PinoSdkLogger', () => {
  it("writes an SDK error's message and causes, masked, and drops the task token", () => {
    const { logger, lines } = capture();
    const failure = ApplicationFailure.create({
      message: 'sms to 64a000000000000000000001 failed (TWILIO_21211)',
      type: 'PermanentProviderError',
      nonRetryable: true,
      details: [{ code: 'TWILIO_21211' }],
      cause: new Error("twilio answered 400: The 'To' number +393331234567 is not a valid phone number."),
    });
    new PinoSdkLogger(logger).warn('Activity failed', { error: failure, taskToken: 'opaque', attempt: 1 });
    expect(lines[0]).not.toHaveProperty('taskToken');
    expect(lines[0]).toMatchObject({
      msg: 'Activity failed',
      attempt: 1,
      error: {
        type: 'ApplicationFailure',
        message:
          'sms to 64a000000000000000000001 failed (TWILIO_21211): ' +
          "twilio answered 400: The 'To' number [phone] is not a valid phone number.",
        nonRetryable: true,
        details: [{ code: 'TWILIO_21211' }],
      },
    });
    expect(JSON.stringify(lines[0])).not.toContain('393331234567');
  });
});
