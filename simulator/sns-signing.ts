import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';

/**
 * The simulator's stand-in for Amazon SNS's signing: an RSA key and a self-signed X.509 certificate made at start
 * (served at `SNS_CERTIFICATE_PATH`), and SNS's signature of a message (SignatureVersion 1, SHA1withRSA, or 2,
 * SHA256withRSA, over the message type's signed fields). A receiver that trusts the simulator's host verifies it as
 * it verifies SNS.
 */

export const SNS_CERTIFICATE_PATH = '/sns/SimpleNotificationService-simulator.pem';

/** DER: a tag, its length, its content. */
function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const length = body.length;
  let header: Buffer;
  if (length < 0x80) header = Buffer.from([tag, length]);
  else {
    const bytes: number[] = [];
    for (let rest = length; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
    header = Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([header, body]);
}

const SEQUENCE = 0x30;
const SHA256_WITH_RSA = der(
  SEQUENCE,
  Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]),
  Buffer.from([0x05, 0x00]),
);

/** A Name of one common name (CN). */
const commonName = (name: string) =>
  der(
    SEQUENCE,
    der(0x31, der(SEQUENCE, Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03]), der(0x0c, Buffer.from(name, 'utf8')))),
  );

/** UTCTime, `YYMMDDHHMMSSZ`. */
const utcTime = (date: Date) => der(0x17, Buffer.from(date.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'));

/** A self-signed X.509 v3 certificate of `publicKey`, valid from a day ago for ten years, as PEM. */
function selfSignedCertificate(publicKey: KeyObject, privateKey: KeyObject, name: string): string {
  const now = Date.now();
  const tbs = der(
    SEQUENCE,
    der(0xa0, der(0x02, Buffer.from([0x02]))),
    der(0x02, Buffer.from([0x01, ...Array.from({ length: 8 }, () => Math.floor(Math.random() * 256))])),
    SHA256_WITH_RSA,
    commonName(name),
    der(SEQUENCE, utcTime(new Date(now - 86_400_000)), utcTime(new Date(now + 10 * 365 * 86_400_000))),
    commonName(name),
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, privateKey);
  const certificate = der(SEQUENCE, tbs, SHA256_WITH_RSA, der(0x03, Buffer.from([0x00]), signature));
  const lines = certificate.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** An SNS message as posted to an HTTP(S) subscription. */
export interface SnsEnvelope {
  Type: 'Notification' | 'SubscriptionConfirmation';
  MessageId: string;
  TopicArn: string;
  Subject?: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: '1' | '2';
  Signature: string;
  SigningCertURL: string;
  UnsubscribeURL?: string;
  SubscribeURL?: string;
  Token?: string;
}

const SIGNED_FIELDS: Record<SnsEnvelope['Type'], (keyof SnsEnvelope)[]> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};

export class SnsSigner {
  readonly certificatePem: string;
  private readonly privateKey: KeyObject;

  constructor() {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = privateKey;
    this.certificatePem = selfSignedCertificate(publicKey, privateKey, 'sns.simulator.invalid');
  }

  /** The notification of `message` on `topicArn`, signed, its certificate at `certificateUrl`. */
  notification(
    topicArn: string,
    message: object,
    certificateUrl: string,
    signatureVersion: '1' | '2' = '2',
  ): SnsEnvelope {
    return this.signed({
      Type: 'Notification',
      MessageId: randomUUID(),
      TopicArn: topicArn,
      Message: JSON.stringify(message),
      Timestamp: new Date().toISOString(),
      SignatureVersion: signatureVersion,
      SigningCertURL: certificateUrl,
    });
  }

  /** Signs the envelope's signed fields as SNS does; any `Signature` it holds is replaced. */
  signed(envelope: Omit<SnsEnvelope, 'Signature'>): SnsEnvelope {
    const text = SIGNED_FIELDS[envelope.Type]
      .filter((field) => typeof envelope[field as keyof typeof envelope] === 'string')
      .map((field) => `${field}\n${envelope[field as keyof typeof envelope]}\n`)
      .join('');
    const algorithm = envelope.SignatureVersion === '1' ? 'sha1' : 'sha256';
    return { ...envelope, Signature: sign(algorithm, Buffer.from(text, 'utf8'), this.privateKey).toString('base64') };
  }
}
