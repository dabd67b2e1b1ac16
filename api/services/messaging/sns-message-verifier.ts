import { createVerify, X509Certificate } from 'node:crypto';
import { z } from 'zod';

/** The Amazon SNS HTTP(S) message types this service takes; anything else fails verification. */
export const snsMessageSchema = z
  .object({
    Type: z.enum(['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation']),
    MessageId: z.string().min(1).max(200),
    TopicArn: z.string().min(1).max(300),
    Message: z.string().max(256 * 1024),
    Timestamp: z.string().min(1).max(100),
    SignatureVersion: z.enum(['1', '2']),
    Signature: z.string().min(1).max(2048),
    SigningCertURL: z.string().min(1).max(1000),
    Subject: z.string().max(1000).optional(),
    SubscribeURL: z.string().max(2000).optional(),
    Token: z.string().max(2000).optional(),
  })
  .loose();
export type SnsMessage = z.infer<typeof snsMessageSchema>;

/** The fields SNS signs, in its order, per message type; an optional one is signed only when present. */
const SIGNED_FIELDS: Record<SnsMessage['Type'], (keyof SnsMessage)[]> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};

/** The string SNS signs: each signed field's name and value, one line each. */
export function snsStringToSign(message: SnsMessage): string {
  return SIGNED_FIELDS[message.Type]
    .filter((field) => typeof message[field] === 'string')
    .map((field) => `${field}\n${message[field] as string}\n`)
    .join('');
}

export class SnsVerificationError extends Error {}

/** The region of a topic ARN (`arn:aws:sns:<region>:<account>:<name>`). */
export function snsRegionOf(topicArn: string): string {
  const match = /^arn:aws:sns:([a-z]{2}(?:-[a-z]+)+-\d):\d{12}:[\w.-]+$/.exec(topicArn);
  if (!match) throw new SnsVerificationError(`TopicArn: ${topicArn} is not an SNS topic ARN`);
  return match[1];
}

export interface SnsVerifierOptions {
  /** Fetches a certificate's PEM text; only ever called with a URL `isSnsUrl` accepted. */
  fetchText: (url: string) => Promise<string>;
  /**
   * An origin (`http://127.0.0.1:4010`) trusted besides SNS's own hosts: the simulator's, in the development profile
   * only. Null elsewhere.
   */
  trustedOrigin: string | null;
  /** Certificates kept; SNS signs with few. Default 32. */
  maxCachedCertificates?: number;
}

/**
 * Amazon SNS message signatures: SignatureVersion 1 is SHA1withRSA, 2 is SHA256withRSA, over `snsStringToSign`,
 * with the certificate at `SigningCertURL`. That URL (and a confirmation's `SubscribeURL`) must be https on the SNS
 * host of the topic's own region, `sns.<region>.amazonaws.com`, or on the trusted origin: a message cannot name a
 * certificate of its own making. Certificates are kept once fetched.
 */
export class SnsMessageVerifier {
  private readonly certificates = new Map<string, Promise<X509Certificate>>();
  private readonly maxCached: number;

  constructor(private readonly options: SnsVerifierOptions) {
    this.maxCached = options.maxCachedCertificates ?? 32;
  }

  /** Whether `url` is on SNS's host of `region`, or on the trusted origin. */
  isSnsUrl(url: string, region: string): boolean {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return false;
    }
    if (this.options.trustedOrigin !== null && parsed.origin === new URL(this.options.trustedOrigin).origin)
      return true;
    return (
      parsed.protocol === 'https:' &&
      parsed.hostname === `sns.${region}.amazonaws.com` &&
      parsed.port === '' &&
      parsed.username === '' &&
      parsed.password === ''
    );
  }

  /** Throws `SnsVerificationError` unless the message is signed by SNS (or the trusted origin) as it stands. */
  async verify(message: SnsMessage): Promise<void> {
    const region = snsRegionOf(message.TopicArn);
    if (!this.isSnsUrl(message.SigningCertURL, region) || !new URL(message.SigningCertURL).pathname.endsWith('.pem'))
      throw new SnsVerificationError(
        `SigningCertURL: ${message.SigningCertURL} is not an SNS certificate of ${region}`,
      );
    const certificate = await this.certificate(message.SigningCertURL);
    const verifier = createVerify(message.SignatureVersion === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
    verifier.update(snsStringToSign(message), 'utf8');
    if (!verifier.verify(certificate.publicKey, message.Signature, 'base64'))
      throw new SnsVerificationError('Signature: does not match the message');
  }

  private certificate(url: string): Promise<X509Certificate> {
    const cached = this.certificates.get(url);
    if (cached) return cached;
    const loading = this.options.fetchText(url).then((pem) => {
      let certificate: X509Certificate;
      try {
        certificate = new X509Certificate(pem);
      } catch {
        throw new SnsVerificationError(`SigningCertURL: ${url} holds no X.509 certificate`);
      }
      const now = Date.now();
      if (Date.parse(certificate.validFrom) > now || Date.parse(certificate.validTo) < now)
        throw new SnsVerificationError(`SigningCertURL: the certificate at ${url} is not valid now`);
      return certificate;
    });
    // A failed fetch is not kept: the next message tries again.
    loading.catch(() => this.certificates.delete(url));
    if (this.certificates.size >= this.maxCached) this.certificates.delete(this.certificates.keys().next().value!);
    this.certificates.set(url, loading);
    return loading;
  }
}
