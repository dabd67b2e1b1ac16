import type { PinpointSMSVoiceV2Client, SendTextMessageCommandInput } from '@aws-sdk/client-pinpoint-sms-voice-v2';
import { z } from 'zod';
import { awsAccountSettings, classifyAwsError } from './aws-account';
import type { ProviderReceipt, SmsProvider, TextMessage } from './channel-interfaces';
import { defineProvider, nonEmpty } from './provider-module';

/** AWS End User Messaging SMS (Pinpoint SMS and Voice API v2) for SMS. */
export const pinpointSettingsSchema = z
  .strictObject({
    ...awsAccountSettings,
    /** The origination number (or sender id, pool) used when a message names none. */
    originationNumber: nonEmpty.optional(),
    /** The registered entity id (India's DLT principal entity), sent with every message when set. */
    entityId: nonEmpty.optional(),
    /**
     * The configuration set every message names (`ConfigurationSetName`); its SNS event destination publishes the
     * delivery events this service receives (docs/os1-messaging.md "SES and Pinpoint delivery events").
     */
    configurationSetName: nonEmpty.optional(),
  })
  .describe('{accessKeyId, secretAccessKey, region, originationNumber?, entityId?, configurationSetName?}');
export type PinpointSettings = z.infer<typeof pinpointSettingsSchema>;

type PinpointSdk = typeof import('@aws-sdk/client-pinpoint-sms-voice-v2');

/** How long one call may take before it counts as a transient failure (the activity retries it). */
const REQUEST_TIMEOUT_MS = 15_000;

/**
 * The `SendTextMessage` request of one SMS. The origination identity is the message's `from` (the template's
 * origination number), else the settings' `originationNumber`, else none (AWS picks one of the account's). A
 * registered template (`templateRef`, OS1 `externalRef`) and the settings' `entityId` are the v2 API's
 * `DestinationCountryParameters` `IN_TEMPLATE_ID` and `IN_ENTITY_ID` (v1's `TemplateId` and `EntityId`, India's
 * DLT registration), sent only when set.
 */
export function pinpointSendTextInput(message: TextMessage, settings: PinpointSettings): SendTextMessageCommandInput {
  const originationIdentity = message.from || settings.originationNumber;
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
