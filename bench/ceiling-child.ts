import nodemailer from 'nodemailer';
import { Agent, request } from 'undici';
import { loadConfig } from '../providers/service-configuration';
import { mapWithConcurrency } from '../common/toolkit/concurrency';

/**
 * The simulator's own ceiling ("physical limit", bench/README.md): provider requests as cheap as a client can make them
 * (prebuilt bodies, no rendering, no error classification) over the same connection pools the product uses
 * (64 keep-alive HTTP connections, 8 pooled SMTP connections). Each channel alone, then all three at once in
 * equal parts, which is the mix a fan-out sends. Prints one JSON line.
 */

const HTTP_CONNECTIONS = 64;
const SMTP_CONNECTIONS = 8;
const IN_FLIGHT = 128;

async function main(): Promise<void> {
  const { env } = loadConfig();
  const perChannel = Number(process.env.BENCH_CEILING_COUNT ?? 3000);
  const agent = new Agent({ connections: HTTP_CONNECTIONS, keepAliveTimeout: 10000 });
  const mailer = nodemailer.createTransport({
    url: env.SMTP_URL,
    pool: true,
    maxConnections: SMTP_CONNECTIONS,
    maxMessages: Infinity,
  } as never);

  const twilioUrl = `${env.TWILIO_BASE_URL}/2010-04-01/Accounts/${env.TWILIO_ACCOUNT_SID}/Messages.json`;
  const twilioHeaders = {
    authorization: `Basic ${Buffer.from(`${env.TWILIO_ACCOUNT_SID}:${env.TWILIO_AUTH_TOKEN}`).toString('base64')}`,
    'content-type': 'application/x-www-form-urlencoded',
  };
  const fcmUrl = `${env.FCM_BASE_URL}/v1/projects/${env.FCM_PROJECT_ID}/messages:send`;
  const fcmHeaders = {
    // The bench runs in the development profile (bench/lib/stack.ts), which sets every provider setting.
    authorization: `Bearer ${await fcmToken(agent, env.FCM_TOKEN_URL as string)}`,
    'content-type': 'application/json',
  };

  const post = async (url: string, headers: Record<string, string>, body: string) => {
    const response = await request(url, { method: 'POST', headers, body, dispatcher: agent });
    await response.body.dump();
    if (response.statusCode >= 300) throw new Error(`HTTP ${response.statusCode} from ${url}`);
  };
  const calls = {
    sms: (i: number) =>
      post(
        twilioUrl,
        twilioHeaders,
        new URLSearchParams({ To: `+1666${i}`, From: '+15005550006', Body: 'ceiling' }).toString(),
      ),
    push: (i: number) =>
      post(
        fcmUrl,
        fcmHeaders,
        JSON.stringify({ message: { token: `ceiling-${i}`, notification: { title: 't', body: 'b' } } }),
      ),
    email: async (i: number) => {
      await mailer.sendMail({
        from: 'noreply@example.com',
        to: `c${i}@bench.example.com`,
        subject: 's',
        text: 'ceiling',
      });
    },
  };
  const run = async (channels: (keyof typeof calls)[]) => {
    const started = performance.now();
    const perChannelSeconds: Record<string, number> = {};
    await Promise.all(
      channels.map(async (channel) => {
        const indexes = Array.from({ length: perChannel }, (_, i) => i);
        await mapWithConcurrency(indexes, IN_FLIGHT, calls[channel]);
        perChannelSeconds[channel] = (performance.now() - started) / 1000;
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    return {
      requests: perChannel * channels.length,
      seconds,
      perSecond: (perChannel * channels.length) / seconds,
      perChannelSeconds,
    };
  };

  const alone = {
    sms: await run(['sms']),
    push: await run(['push']),
    email: await run(['email']),
  };
  const mixed = await run(['email', 'sms', 'push']);
  mailer.close();
  await agent.close();
  console.log(
    JSON.stringify({
      perChannel,
      aloneRps: Object.fromEntries(Object.entries(alone).map(([channel, r]) => [channel, Math.round(r.perSecond)])),
      mixedRps: Math.round(mixed.perSecond),
      mixedSeconds: mixed.seconds,
    }),
  );
}

/** The simulator checks the JWT's shape only (bench/README.md), so an unsigned assertion with the right claims will do. */
async function fcmToken(agent: Agent, tokenUrl: string): Promise<string> {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const assertion = `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ iss: 'bench', scope: 'fcm', aud: tokenUrl, iat: now, exp: now + 3600 })}.c2ln`;
  const response = await request(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
    dispatcher: agent,
  });
  const json = (await response.body.json()) as { access_token?: string };
  if (!json.access_token) throw new Error(`no FCM token: ${JSON.stringify(json)}`);
  return json.access_token;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
