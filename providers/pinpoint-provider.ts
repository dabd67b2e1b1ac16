import type { PinpointSMSVoiceV2Client, SendTextMessageCommandInput } from '@aws-sdk/client-pinpoint-sms-voice-v2';
import { z } from 'zod';
import { awsAccountSettings, classifyAwsError } from './aws-account';
import type { ProviderReceipt, SmsProvider, TextMessage } from './channel-interfaces';
import { defineProvider, nonEmpty } from './provider-module';

/**
 * The kinds of origination number a Pinpoint account sends US SMS from: a toll-free number (`TFN`) or a 10-digit long
 * code registered for application-to-person traffic (`A2P`, 10DLC).
 */
export const ORIGINATOR_TYPES = ['TFN', 'A2P'] as const;
export type OriginatorType = (typeof ORIGINATOR_TYPES)[number];

const originatorSchema = z.strictObject({
  number: z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number, such as +18005551234'),
  type: z.enum(ORIGINATOR_TYPES),
});
export type PinpointOriginator = z.infer<typeof originatorSchema>;

/** AWS End User Messaging SMS (Pinpoint SMS and Voice API v2) for SMS. */
export const pinpointSettingsSchema = z
  .strictObject({
    ...awsAccountSettings,
    /**
     * The numbers a message may be sent from, each with its type: a message's `originationNumber` must be one of
     * them, and a message that names none goes from the first of `defaultOriginatorType`.
     */
    originators: z.array(originatorSchema).min(1).max(100).optional(),
    /** Whose number a message that names none goes from; the first originator's type when unset. */
    defaultOriginatorType: z.enum(ORIGINATOR_TYPES).optional(),
    /** The one origination number of registrations made before `originators`: read as the only originator. */
    originationNumber: nonEmpty.optional(),
    /** The registered entity id (India's DLT principal entity), sent with every message when set. */
    entityId: nonEmpty.optional(),
    /**
     * The configuration set every message names (`ConfigurationSetName`); its SNS event destination publishes the
     * delivery events this service receives (docs/os1-messaging.md "SES and Pinpoint delivery events").
     */
    configurationSetName: nonEmpty.optional(),
  })
  .superRefine((settings, context) => {
    const { originators, originationNumber, defaultOriginatorType } = settings;
    if (originators && originationNumber !== undefined)
      context.addIssue({
        code: 'custom',
        path: ['originationNumber'],
        message: 'give originators or originationNumber (one originator), not both',
      });
    const numbers = (originators ?? []).map(({ number }) => number);
    const repeated = numbers.findIndex((number, index) => numbers.indexOf(number) !== index);
    if (repeated >= 0)
      context.addIssue({
        code: 'custom',
        path: ['originators', repeated, 'number'],
        message: `${numbers[repeated]} is listed twice`,
      });
    if (originators && defaultOriginatorType && !originators.some(({ type }) => type === defaultOriginatorType))
      context.addIssue({
        code: 'custom',
        path: ['defaultOriginatorType'],
        message: `no originator is of type ${defaultOriginatorType}`,
      });
  })
  .describe(
    '{accessKeyId, secretAccessKey, region, originators?: [{number, type: "TFN" | "A2P"}], defaultOriginatorType?, originationNumber?, entityId?, configurationSetName?}',
  );
export type PinpointSettings = z.infer<typeof pinpointSettingsSchema>;

type PinpointSdk = typeof import('@aws-sdk/client-pinpoint-sms-voice-v2');

/** How long one call may take before it counts as a transient failure (the activity retries it). */
const REQUEST_TIMEOUT_MS = 15_000;

/** North American toll-free area codes: what a registration's single `originationNumber` is read as a TFN by. */
const TOLL_FREE = /^\+1(800|833|844|855|866|877|888)\d{7}$/;

/**
 * The originators of a provider's settings: its `originators`, else its single `originationNumber` (a TFN when it is
 * a North American toll-free number, else an A2P long code), else none.
 */
export function pinpointOriginators(settings: PinpointSettings): PinpointOriginator[] {
  if (settings.originators) return settings.originators;
  if (settings.originationNumber === undefined) return [];
  const number = settings.originationNumber;
  return [{ number, type: TOLL_FREE.test(number) ? 'TFN' : 'A2P' }];
}

/** The number a message that names none of the originators goes from: the first of the default type. */
export function defaultOriginator(settings: PinpointSettings): PinpointOriginator | undefined {
  const originators = pinpointOriginators(settings);
  const type = settings.defaultOriginatorType ?? originators[0]?.type;
  return originators.find((originator) => originator.type === type);
}

/** Why a message's `originationNumber` cannot go through these settings, or null. */
export function originationNumberProblem(settings: PinpointSettings, number: string): string | null {
  const originators = pinpointOriginators(settings);
  if (originators.length === 0 || originators.some((originator) => originator.number === number)) return null;
  const listed = originators.map((originator) => `${originator.number} (${originator.type})`).join(', ');
  return `${number} is not an originator of this provider; it sends from ${listed}`;
}

/**
 * The `SendTextMessage` request of one SMS. With originators, the origination identity is the message's `from` (its
 * `originationNumber`, else the template's, else the service's sender) when it is one of them, else the default
 * originator: the API refuses a message's `originationNumber` that is not one, and a template's or the service's
 * number belongs to no Pinpoint account. Without originators it is the message's `from`, else none (AWS picks one of
 * the account's). A registered template (`templateRef`, OS1 `externalRef`) and the settings' `entityId` are the v2
 * API's `DestinationCountryParameters` `IN_TEMPLATE_ID` and `IN_ENTITY_ID` (v1's `TemplateId` and `EntityId`,
 * India's DLT registration), sent only when set.
 */
export function pinpointSendTextInput(message: TextMessage, settings: PinpointSettings): SendTextMessageCommandInput {
  const originators = pinpointOriginators(settings);
  const originationIdentity =
    originators.length === 0 || originators.some(({ number }) => number === message.from)
      ? message.from
      : defaultOriginator(settings)?.number;
  const countryParameters = {
    ...(message.templateRef ? { IN_TEMPLATE_ID: message.templateRef } : {}),
    ...(settings.entityId ? { IN_ENTITY_ID: settings.entityId } : {}),
  };
  return {
    DestinationPhoneNumber: message.to,
    ...(originationIdentity ? { OriginationIdentity: originationIdentity } : {}),
    MessageBody: message.body,
    MessageType: 'TRANSACTIONAL',
    ...(settings.configurationSetName ? { ConfigurationSetName: settings.configurationSetName } : {}),
    ...(Object.keys(countryParameters).length > 0 ? { DestinationCountryParameters: countryParameters } : {}),
  };
}

/**
 * SMS through AWS End User Messaging SMS, the Pinpoint SMS and Voice API v2 (`SendTextMessage`), with the official
 * AWS SDK v3 client signed with the settings' access key. The endpoint is the settings' `endpoint`, else the SDK's
 * own resolution (`AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2`, `AWS_ENDPOINT_URL`). Delivery events go through
 * configuration sets, not per message, so `statusCallbackUrl` is unused. The SDK's own retries are off: the
 * delivery's retry policy decides.
 */
export class PinpointSmsProvider implements SmsProvider {
  private readonly client: PinpointSMSVoiceV2Client;
  private readonly sdk: PinpointSdk;

  constructor(private readonly settings: PinpointSettings) {
    // Loaded here, not at the top: the API lists the providers (their schemas) but never sends through the SDK.
    this.sdk = require('@aws-sdk/client-pinpoint-sms-voice-v2') as PinpointSdk;
    this.client = new this.sdk.PinpointSMSVoiceV2Client({
      region: settings.region,
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      maxAttempts: 1,
      requestHandler: { requestTimeout: REQUEST_TIMEOUT_MS, connectionTimeout: 5_000 },
    });
  }

  async sendSms(message: TextMessage): Promise<ProviderReceipt> {
    try {
      const output = await this.client.send(
        new this.sdk.SendTextMessageCommand(pinpointSendTextInput(message, this.settings)),
      );
      return { providerMessageId: output.MessageId };
    } catch (error) {
      throw classifyPinpointError(error);
    }
  }

  close(): void {
    this.client.destroy();
  }
}

/** What an AWS SDK exception of Pinpoint SMS means (`PINPOINT_DESTINATION_PHONE_NUMBER_OPTED_OUT`). */
export const classifyPinpointError = (error: unknown) => classifyAwsError('pinpoint', error);

export const pinpointProvider = defineProvider({
  type: 'pinpoint',
  channels: ['sms'],
  settingsSchema: pinpointSettingsSchema,
  // A registered provider only (`/providers`): the configuration names no AWS provider.
  environment: null,
  defaultFor: [],
  // The simulator stands in for Pinpoint SMS at the endpoint `npm run dev` gives the AWS SDK (`AWS_ENDPOINT_URL`).
  profileDefaults: { production: {}, development: {} },
  // The SDK resolves the endpoint from the region; `endpoint` is configuration only.
  urlSettings: [],
  publicHosts: [],
  errorReader: { thrown: classifyPinpointError },
  build: (settings) => new PinpointSmsProvider(settings),
});
