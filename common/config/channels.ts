/** Every channel the service knows; `activeChannels` picks a subset. */
export const CHANNELS = ['email', 'sms', 'push', 'voice', 'whatsapp'] as const;
export type Channel = (typeof CHANNELS)[number];
