import type { AppConfig } from '../../common/config';
import type { ChannelProviders, SmsProvider, VoiceProvider } from './channel-providers';
import { SmtpEmailProvider } from './email/smtp';
import { ProviderHttpClient } from './http-client';
import { FcmPushProvider } from './push/fcm';
import { KaleyraSmsProvider } from './sms/kaleyra';
import { MiaSmsServiceProvider } from './sms/mia-sms-service';
import { TwilioClient, TwilioSmsProvider } from './sms/twilio';
import { KaleyraVoiceProvider } from './voice/kaleyra';
import { TwilioVoiceProvider } from './voice/twilio';
import { InfobipWhatsappProvider } from './whatsapp/infobip';

/** Builds the provider of each channel named by `providers` in the service configuration (spec §3, §7). */
export function createChannelProviders(config: AppConfig): ChannelProviders {
  const { env, service } = config;
  const http = new ProviderHttpClient();
  const twilio = new TwilioClient(http, env);
  const email = new SmtpEmailProvider(env.SMTP_URL);

  let sms: SmsProvider;
  if (service.providers.sms === 'kaleyra') sms = new KaleyraSmsProvider(http, env);
  else if (service.providers.sms === 'mia-sms-service') {
    if (!env.SMS_SERVICE_URL) throw new Error('providers.sms is "mia-sms-service" but SMS_SERVICE_URL is not set');
    sms = new MiaSmsServiceProvider(http, env.SMS_SERVICE_URL);
  } else sms = new TwilioSmsProvider(twilio);

  const voice: VoiceProvider =
    service.providers.voice === 'twilio' ? new TwilioVoiceProvider(twilio) : new KaleyraVoiceProvider(http, env);

  return {
    email,
    sms,
    voice,
    push: new FcmPushProvider(http, env),
    whatsapp: new InfobipWhatsappProvider(http, env),
    async close() {
      await email.close();
      await http.close();
    },
  };
}
