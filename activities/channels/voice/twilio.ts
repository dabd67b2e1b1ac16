import type { ProviderReceipt, TextMessage, VoiceProvider } from '../channel-providers';
import type { TwilioClient } from '../sms/twilio';

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Voice through Twilio's Calls API: the message is read by `<Say>` in inline TwiML. */
export class TwilioVoiceProvider implements VoiceProvider {
  constructor(private readonly twilio: TwilioClient) {}

  call({ from, to, body }: TextMessage): Promise<ProviderReceipt> {
    const text = body.replace(/[&<>"']/g, (char) => XML_ESCAPES[char]);
    return this.twilio.create('Calls', { To: to, From: from, Twiml: `<Response><Say>${text}</Say></Response>` });
  }
}
