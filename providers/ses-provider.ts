import type { SendEmailCommandInput, SESv2Client } from '@aws-sdk/client-sesv2';

type SesSdk = typeof import('@aws-sdk/client-sesv2');
import { z } from 'zod';
import { awsAccountSettings, classifyAwsError } from './aws-account';
import type { EmailMessage, EmailProvider, ProviderReceipt } from './channel-interfaces';
import { defineProvider } from './provider-module';

/** Amazon SES (API v2) for email. */
export const sesSettingsSchema = z
  .strictObject({
    ...awsAccountSettings,
    /** The AWS account id, for reference only (the OS1 registry's sample carries it); never sent. */
    projectId: z.string().optional(),
    /**
     * The SES configuration set every email names (`ConfigurationSetName`); its SNS event destination publishes the
     * delivery events this service receives (docs/os1-messaging.md "SES and Pinpoint delivery events").
     */
    configurationSetName: z.string().min(1).max(64).optional(),
  })
  .describe('{accessKeyId, secretAccessKey, region, projectId?, configurationSetName?}');
export type SesSettings = z.infer<typeof sesSettingsSchema>;

/** How long one SES call may take before it counts as a transient failure (the activity retries it). */
const REQUEST_TIMEOUT_MS = 15_000;

/** The SES v2 request of one email: simple content (subject, text and HTML bodies, attachments), cc and bcc. */
export function sesSendEmailInput(
  message: EmailMessage,
  settings: Pick<SesSettings, 'configurationSetName'> = {},
): SendEmailCommandInput {
  return {
    FromEmailAddress: message.from,
    ...(settings.configurationSetName ? { ConfigurationSetName: settings.configurationSetName } : {}),
    Destination: {
      ToAddresses: [message.to],
      ...(message.cc.length > 0 ? { CcAddresses: message.cc } : {}),
      ...(message.bcc.length > 0 ? { BccAddresses: message.bcc } : {}),
    },
    Content: {
      Simple: {
        Subject: { Data: message.subject, Charset: 'UTF-8' },
        Body: {
          ...(message.text ? { Text: { Data: message.text, Charset: 'UTF-8' } } : {}),
          Html: { Data: message.html, Charset: 'UTF-8' },
        },
        ...(message.attachments.length > 0
          ? {
              Attachments: message.attachments.map(({ filename, content, contentType }) => ({
                FileName: filename,
                RawContent: content,
                ...(contentType ? { ContentType: contentType } : {}),
              })),
            }
          : {}),
      },
    },
  };
}

/**
 * Email through Amazon SES API v2 (`SendEmail`) with the official AWS SDK v3 client, signed with the settings'
 * access key. The endpoint is the settings' `endpoint`, else the SDK's own resolution, which honours
 * `AWS_ENDPOINT_URL_SESV2` and `AWS_ENDPOINT_URL` (how `npm run dev` points it at the simulator). SES takes no
 * per-message status callback (its delivery events go through configuration sets), so `statusCallbackUrl` is unused.
 * The SDK's own retries are off: the delivery's retry policy decides, as for every other provider.
 */
export class SesProvider implements EmailProvider {
  private readonly client: SESv2Client;
  private readonly sdk: SesSdk;

  constructor(private readonly settings: SesSettings) {
    // Loaded here, not at the top: the API lists the providers (their schemas) but never sends through the SDK.
    this.sdk = require('@aws-sdk/client-sesv2') as SesSdk;
    this.client = new this.sdk.SESv2Client({
      region: settings.region,
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      maxAttempts: 1,
      requestHandler: { requestTimeout: REQUEST_TIMEOUT_MS, connectionTimeout: 5_000 },
    });
  }

  async sendEmail(message: EmailMessage): Promise<ProviderReceipt> {
    try {
      const output = await this.client.send(new this.sdk.SendEmailCommand(sesSendEmailInput(message, this.settings)));
      return { providerMessageId: output.MessageId };
    } catch (error) {
      throw classifySesError(error);
    }
  }

  close(): void {
    this.client.destroy();
  }
}

/** What an AWS SDK exception of SES means (`SES_MessageRejected`). */
export const classifySesError = (error: unknown) => classifyAwsError('ses', error);

export const sesProvider = defineProvider({
  type: 'ses',
  channels: ['email'],
  settingsSchema: sesSettingsSchema,
  // A registered provider only (`/providers`): the configuration names no AWS provider.
  environment: null,
  defaultFor: [],
  // The simulator stands in for SES at the endpoint `npm run dev` gives the AWS SDK (`AWS_ENDPOINT_URL`).
  profileDefaults: { production: {}, development: {} },
  // The SDK resolves the endpoint from the region; `endpoint` is configuration only.
  urlSettings: [],
  publicHosts: [],
  errorReader: { thrown: classifySesError },
  build: (settings) => new SesProvider(settings),
});
