import type { Channel } from '../config/config';

/** Which kind of address each channel sends to: an email address, a phone number, a device token. */
const ADDRESS_KIND: Record<Channel, 'email' | 'phone' | 'token'> = {
  email: 'email',
  sms: 'phone',
  voice: 'phone',
  whatsapp: 'phone',
  push: 'token',
};

/** `+` then 6 to 15 digits, the first not 0 (ITU-T E.164). */
const E164 = /^\+[1-9]\d{5,14}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * The one form an address is compared in on a suppression list: an email address trimmed and lower-cased; a phone
 * number as E.164 (`+39 333 123-4567`, `0039…` and `39…` all become `+393331234567`); a device token trimmed. Null for
 * what is no address of the channel's kind. Pure: the API, the dispatches and the webhooks agree on it.
 */
export function normalAddress(channel: Channel, address: string): string | null {
  const trimmed = address.trim();
  switch (ADDRESS_KIND[channel]) {
    case 'email': {
      const lower = trimmed.toLowerCase();
      return EMAIL.test(lower) ? lower : null;
    }
    case 'phone': {
      // A WhatsApp address may come as `whatsapp:+39…` (Twilio) or bare digits (Infobip).
      let digits = trimmed.replace(/^whatsapp:/i, '').replace(/[\s().-]/g, '');
      if (digits.startsWith('00')) digits = `+${digits.slice(2)}`;
      if (!digits.startsWith('+')) digits = `+${digits}`;
      return E164.test(digits) ? digits : null;
    }
    case 'token':
      return trimmed === '' ? null : trimmed;
  }
}

/**
 * Provider codes of a refusal that means the recipient opted out (Twilio 21610: the number answered STOP): the
 * address goes on the channel's suppression list, so that no later send tries it again.
 */
export const OPTED_OUT_PROVIDER_CODES: ReadonlySet<string> = new Set(['TWILIO_21610']);

/** The replies that mean "send me nothing more" (the carriers' and Twilio's standard opt-out keywords). */
const OPT_OUT_REPLIES = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT']);

/** The replies that take an opt-out back (the carriers' and Twilio's standard opt-in keywords). */
const OPT_IN_REPLIES = new Set(['START', 'UNSTOP']);

/** A reply as its keyword is compared: trimmed, without a trailing period or exclamation mark, upper-cased. */
const keywordOf = (text: string): string =>
  text
    .trim()
    .replace(/[.!]+$/, '')
    .toUpperCase();

/** Whether an inbound message is an opt-out: one of the keywords alone, in any case, with spaces or a period around. */
export const isOptOutReply = (text: string): boolean => OPT_OUT_REPLIES.has(keywordOf(text));

/** Whether an inbound message takes an opt-out back (`START`, `UNSTOP`), read as `isOptOutReply` reads its keywords. */
export const isOptInReply = (text: string): boolean => OPT_IN_REPLIES.has(keywordOf(text));
