import { createHmac, hkdfSync, randomUUID } from 'node:crypto';
import type { Document, Filter } from 'mongodb';
import type { ServiceConfig } from '../config/config';
import { digitsOf, type ConversationStatus } from '../domain/conversation-model';
import { mapWithConcurrency } from '../toolkit/concurrency';
import { insertWhereFree, POINT_LOOKUPS_IN_FLIGHT, type Database } from './db';
import { isTakenEverywhere } from './digests-repository';
import type { CodecKey } from '../crypto/encryption-codec';
import { messageAddressKey, type StoredMessage } from './messaging/message-requests-repository';
import { idCandidates, type UserDocument } from './users-repository';
import type {
  AudiencePageDocument,
  BatchCountsDocument,
  DeliveryDocument,
  Failure,
  SendDocument,
} from '../domain/send-types';

/**
 * Erasure of one person (docs/operations.md "Erasure", `POST /erasures`): what the service stores of them is deleted
 * where it exists for them alone, and masked where other people's accounting needs the record (a send's ledger keeps
 * its counts, a request keeps its other addresses). Every step finds what still holds the person and changes only that,
 * so an erasure interrupted half-way is finished by running it again, and a repeat touches nothing. No transaction: the
 * same on MongoDB and FerretDB.
 */

/** What replaces a masked address, text or provider answer. */
export const ERASED = 'erased';

/** The person to erase: a user id (`userFields.id`), or an email address or phone number. */
export type ErasureSubject = { userId: string } | { address: string };

/** How many documents of each collection an erasure changed or deleted. */
export interface ErasureTouched {
  users: number;
  /** The user's preferences (`/users/:id/preferences`). */
  preferences: number;
  /** The user's throttle slots (`throttle` on `/send`). */
  throttleClaims: number;
  /** The user's digests and their flushes (`digests`, `digest_flushes`). */
  digests: number;
  /** Events for the user alone, deleted; events for several people, the user's id taken out. */
  digestEvents: number;
  /** Recurring sends that named the user among their recipients (`send_schedules`). */
  sendSchedules: number;
  audiencePages: number;
  deliveries: number;
  batchCounts: number;
  sends: number;
  messageRequests: number;
  callbackEvents: number;
  conversations: number;
  conversationEvents: number;
  conversationLocks: number;
  /** The claims of the user's deliveries, and the dispatch claims and provider message ids of conversations' messages. */
  dispatchClaims: number;
  providerMessages: number;
  inboundMessages: number;
}

/** The record of one erasure (`erasures`): what it touched, and the subject as a keyed hash, never the subject. */
export interface ErasureDocument {
  /** `era-<uuid>`. */
  _id: string;
  subjectKind: 'userId' | 'address';
  /** HMAC-SHA256 of `<kind>:<subject>` under a key derived from the codec key `subjectKeyId`. */
  subjectHash: string;
  subjectKeyId: string;
  /** How many of the user's own addresses (read from the user and its snapshot copies) were erased with it. */
  addressesFound: number;
  touched: ErasureTouched | null;
  createdAt: Date;
  completedAt?: Date;
}

export interface ErasureOptions {
  /** `userFields`: where the users collection keeps the id and the addresses. */
  fields: ServiceConfig['userFields'];
  /** The first key of `TEMPORAL_CODEC_KEYS`: the subject's hash and the masked ids' tags are keyed with it. */
  hashKey: CodecKey;
  /**
   * Stops the workflow of an open conversation before its documents go (a terminate; a conversation already closed or
   * unknown to Temporal is no error). Without it open conversations are deleted as they are.
   */
  stopConversation?: (conversationId: string) => Promise<void>;
}

const emptyTouched = (): ErasureTouched => ({
  users: 0,
  preferences: 0,
  throttleClaims: 0,
  digests: 0,
  digestEvents: 0,
  sendSchedules: 0,
  audiencePages: 0,
  deliveries: 0,
  batchCounts: 0,
  sends: 0,
  messageRequests: 0,
  callbackEvents: 0,
  conversations: 0,
  conversationEvents: 0,
  conversationLocks: 0,
  dispatchClaims: 0,
  providerMessages: 0,
  inboundMessages: 0,
});

const OPEN_CONVERSATION: ConversationStatus[] = ['sending', 'awaiting_response'];

/** A phone number: what is not an email address and has 5 to 15 digits (`+`, spaces, `(`, `)`, `-` allowed). */
const PHONE_PATTERN = /^\+?[0-9 ()-]{5,24}$/;

export const isEmailAddress = (address: string): boolean => /^[^\s@]+@[^\s@]+$/.test(address);
export const isPhoneNumber = (address: string): boolean =>
  PHONE_PATTERN.test(address) && digitsOf(address).length >= 5 && digitsOf(address).length <= 15;

/**
 * The forms an address is stored in: an email as given and in lower case; a phone number as given, as E.164
 * (`+<digits>`, `POST /messages` and conversations) and as its digits (Infobip's inbound `from`).
 */
export function addressForms(address: string): string[] {
  const forms = isEmailAddress(address)
    ? [address, address.toLowerCase()]
    : [address, `+${digitsOf(address)}`, digitsOf(address)];
  return [...new Set(forms)];
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The HMAC key of subjects and tags: derived from a codec key, so that it is not the codec key itself. */
const subjectKey = (codecKey: CodecKey) =>
  Buffer.from(hkdfSync('sha256', codecKey.key, Buffer.alloc(0), 'messaging-service erasure subject', 32));

/** `<kind>:<subject>` under the erasure key: what the record keeps instead of the subject. */
export function subjectHash(codecKey: CodecKey, subject: ErasureSubject): string {
  const text = 'userId' in subject ? `userId:${subject.userId}` : `address:${subject.address}`;
  return createHmac('sha256', subjectKey(codecKey)).update(text).digest('hex');
}

/**
 * Erases one person and records it in `erasures`. For a user id: the user's document, its copies in audience
 * snapshots, its ledger entries, batch counts and place in sends (masked under a tag), then every address the user
 * and its copies held, as for an address. For an address: the `POST /messages` addresses and their callbacks
 * (masked), the conversations and inbound WhatsApp messages of a phone number (deleted), the cc, bcc and sender of
 * sends, and the field of users and snapshot copies that holds it (removed, masked).
 */
export async function erase(
  database: Database,
  subject: ErasureSubject,
  options: ErasureOptions,
): Promise<{ erasureId: string; touched: ErasureTouched }> {
  const erasures = database.erasures;
  const record: ErasureDocument = {
    _id: `era-${randomUUID()}`,
    subjectKind: 'userId' in subject ? 'userId' : 'address',
    subjectHash: subjectHash(options.hashKey, subject),
    subjectKeyId: options.hashKey.id,
    addressesFound: 0,
    touched: null,
    createdAt: new Date(),
  };
  // Written first: an erasure that dies half-way is on record, without its counts, and is finished by a repeat.
  await erasures.insertOne(record);
  const eraser = new Eraser(database, options);
  let addressesFound = 0;
  if ('userId' in subject) {
    const addresses = await eraser.eraseUser(subject.userId);
    addressesFound = addresses.length;
    for (const address of addresses) await eraser.eraseAddress(address, { inUsers: false });
  } else {
    await eraser.eraseAddress(subject.address, { inUsers: true });
  }
  await erasures.updateOne(
    { _id: record._id },
    { $set: { touched: eraser.touched, addressesFound, completedAt: new Date() } },
  );
  return { erasureId: record._id, touched: eraser.touched };
}

/**
 * What replaces a user id in keys and ledger entries: `erased-` and 12 hex digits of its keyed hash. The same on every
 * run (while the first codec key is the same), so a repeat after a crash finds the masked copy it wrote; one per
 * user, so the ledger keys of two erased users of one send stay apart; not the id's to anyone without the key.
 */
export function erasedUserTag(codecKey: CodecKey, userId: string): string {
  return `${ERASED}-${createHmac('sha256', subjectKey(codecKey)).update(`tag:${userId}`).digest('hex').slice(0, 12)}`;
}

class Eraser {
  readonly touched = emptyTouched();

  constructor(
    private readonly database: Database,
    private readonly options: ErasureOptions,
  ) {}

  private get fields() {
    return this.options.fields;
  }

  private tag(userId: string): string {
    return erasedUserTag(this.options.hashKey, userId);
  }

  /** Erases what is keyed by the user id; answers the addresses the user and its snapshot copies held. */
  async eraseUser(userId: string): Promise<string[]> {
    const addresses = new Set<string>();
    const keep = (doc: Document | undefined) => {
      for (const field of [this.fields.emailAddress, this.fields.phoneNumber]) {
        const value = doc?.[field];
        if (typeof value === 'string' && value.trim()) addresses.add(value.trim());
      }
    };
    const byId: Filter<UserDocument> = { [this.fields.id]: { $in: idCandidates([userId]) } };
    for (const user of await this.database.users.find(byId).toArray()) {
      keep(user);
      this.touched.users += (await this.database.users.deleteOne({ _id: user._id })).deletedCount;
    }
    this.touched.preferences += (await this.database.preferences.deleteOne({ _id: userId })).deletedCount;
    // A throttle's scope is `<channel>|<userId>|<key>`; its claims only count deliveries, so they go whole.
    const throttleScope = new RegExp(`^[a-z]+\\|${escapeRegex(userId)}\\|`);
    this.touched.throttleClaims += (
      await this.database.throttleClaims.deleteMany({ scope: { $regex: throttleScope } })
    ).deletedCount;
    await this.eraseDigests(userId);
    this.touched.sendSchedules += (
      await this.database.sendSchedules.updateMany(
        { 'request.recipients': userId },
        { $pull: { 'request.recipients': userId }, $set: { updatedAt: new Date() } },
      )
    ).modifiedCount;
    await this.maskAudiencePages(userId, keep);
    await this.maskDeliveries(userId);
    await this.maskDeliveryClaims(userId);
    await this.maskBatchCounts(userId);
    await this.maskSends({ $or: [{ 'request.recipients': userId }, { 'failures.userId': userId }] }, (send) =>
      this.maskSendUser(send, userId),
    );
    return [...addresses];
  }

  /**
   * The user's digests, their flushes and the events addressed to them. A digest's workflow still waiting holds its
   * pending events' ids, not their data: its flush finds no user to send to, and sends nothing.
   */
  private async eraseDigests(userId: string): Promise<void> {
    const digestIds = (await this.database.digests.find({ userId }, { projection: { _id: 1 } }).toArray()).map(
      (digest) => digest._id,
    );
    if (digestIds.length > 0) {
      this.touched.digests += (
        await this.database.digestFlushes.deleteMany({ digestId: { $in: digestIds } })
      ).deletedCount;
      this.touched.digests += (await this.database.digests.deleteMany({ _id: { $in: digestIds } })).deletedCount;
    }
    this.touched.digestEvents += (await this.database.digestEvents.deleteMany({ userIds: [userId] })).deletedCount;
    // An event of several users leaves the user; one every other user's digest has taken is no longer needed and
    // gets its `retentionFrom` in the same write (a flush would not come back to it).
    const shared = await this.database.digestEvents
      .find(
        { userIds: userId },
        { projection: { userIds: 1, digestKey: 1, flushedIn: 1, discardedIn: 1, retentionFrom: 1 } },
      )
      .toArray();
    const now = new Date();
    await mapWithConcurrency(shared, POINT_LOOKUPS_IN_FLIGHT, async (event) => {
      const userIds = event.userIds.filter((id) => id !== userId);
      const unneeded = event.retentionFrom === undefined && isTakenEverywhere({ ...event, userIds });
      const { modifiedCount } = await this.database.digestEvents.updateOne(
        { _id: event._id, userIds: userId },
        { $pull: { userIds: userId }, ...(unneeded ? { $set: { retentionFrom: now } } : {}) },
      );
      this.touched.digestEvents += modifiedCount;
    });
  }

  /**
   * The user's place in audience snapshots: its id becomes its tag, its copy a document holding only the tag. The
   * page is written only if it is as it was read: a send that drops its copies meanwhile is not given them back.
   */
  private async maskAudiencePages(userId: string, keep: (doc: Document | undefined) => void): Promise<void> {
    const pages = this.database.audiencePages;
    for (let round = 0; round < 5; round++) {
      const found = await pages.find({ userIds: userId }).toArray();
      if (found.length === 0) return;
      for (const page of found) {
        const userIds = page.userIds.map((id) => (id === userId ? this.tag(userId) : id));
        const users = page.users?.map((user, index) => {
          if (page.userIds[index] !== userId) return user;
          keep(user);
          return { _id: this.tag(userId), [this.fields.id]: this.tag(userId) };
        });
        const filter: Filter<AudiencePageDocument> = {
          _id: page._id,
          userIds: userId,
          users: { $exists: page.users !== undefined },
        };
        // Where the page ends is the user's id when it is the page's last in `_id` order. Only a snapshot still being
        // taken resumes from it; once the send's audience is complete it is dropped (a running one keeps it: erasing
        // during a send is docs/operations.md "Erasure"'s stated limit).
        const endsAtUser = page.end?.value === userId && (await this.snapshotComplete(page.sendId));
        const result = await pages.updateOne(filter, {
          $set: { userIds, ...(users ? { users } : {}) },
          ...(endsAtUser ? { $unset: { end: '' as const } } : {}),
        });
        this.touched.audiencePages += result.modifiedCount;
      }
    }
    throw new Error('audience pages: a page of the user kept changing while it was masked; run the erasure again');
  }

  private async snapshotComplete(sendId: string): Promise<boolean> {
    const send = await this.database.sends.findOne({ _id: sendId }, { projection: { audience: 1 } });
    return send?.audience !== undefined;
  }

  /**
   * The user's ledger entries of sends: each is copied under its tag (`<sendId>|<channel>|<tag>`), without the
   * provider's message id and with its provider answer masked, then the original deleted. A send's counts stay.
   */
  private async maskDeliveries(userId: string): Promise<void> {
    const deliveries = this.database.deliveries;
    for (const entry of await deliveries.find({ userId }).toArray()) {
      const tag = this.tag(userId);
      const { providerMessageId: _dropped, ...kept } = entry;
      const masked: DeliveryDocument = {
        ...kept,
        _id: `${entry.sendId}|${entry.channel}|${tag}`,
        userId: tag,
        ...(entry.error !== undefined && entry.error !== null ? { error: ERASED } : {}),
      };
      await insertWhereFree(deliveries, [masked]);
      this.touched.deliveries += (await deliveries.deleteOne({ _id: entry._id })).deletedCount;
    }
  }

  /**
   * The claims of the user's deliveries (`<sendId>|<channel>|<userId>|first-run`, `…|retry-after-<round>`): each is
   * copied under its tag, as the ledger entries are, then the original deleted (a later retry round's claim of a
   * masked entry then meets the claims before it).
   */
  private async maskDeliveryClaims(userId: string): Promise<void> {
    const claims = this.database.dispatchClaims;
    const ofUser = new RegExp(`\\|${escapeRegex(userId)}\\|(first-run|retry-after-[0-9]+)$`);
    for (const claim of await claims.find({ _id: { $regex: ofUser } }).toArray()) {
      const prefix = `${claim.sendId}|${claim.channel}|${userId}|`;
      if (!claim._id.startsWith(prefix)) continue;
      const masked = {
        ...claim,
        _id: `${claim.sendId}|${claim.channel}|${this.tag(userId)}|${claim._id.slice(prefix.length)}`,
      };
      await insertWhereFree(claims, [masked]);
      this.touched.dispatchClaims += (await claims.deleteOne({ _id: claim._id })).deletedCount;
    }
  }

  private maskFailures(failures: Failure[] | undefined, userId: string): Failure[] | undefined {
    return failures?.map((failure) =>
      failure.userId === userId ? { ...failure, userId: this.tag(userId), error: ERASED } : failure,
    );
  }

  /**
   * Batch counts that name the user: in their first failures (masked), or in their key, whose last part is the
   * batch's first user (copied under the tag, then the original deleted: the send's totals then come from the ledger).
   */
  private async maskBatchCounts(userId: string): Promise<void> {
    const batches = this.database.batchCounts;
    const keyed = await batches.find({ _id: { $regex: `\\|${escapeRegex(userId)}$` } }).toArray();
    for (const batch of keyed) {
      const masked: BatchCountsDocument = {
        ...batch,
        _id: `${batch._id.slice(0, batch._id.length - userId.length)}${this.tag(userId)}`,
        failures: this.maskFailures(batch.failures, userId),
      };
      await insertWhereFree(batches, [masked]);
      this.touched.batchCounts += (await batches.deleteOne({ _id: batch._id })).deletedCount;
    }
    for (const batch of await batches.find({ 'failures.userId': userId }).toArray()) {
      const result = await batches.updateOne(
        { _id: batch._id },
        { $set: { failures: this.maskFailures(batch.failures, userId) } },
      );
      this.touched.batchCounts += result.modifiedCount;
    }
  }

  private maskSendUser(send: SendDocument, userId: string): Document {
    return {
      'request.recipients': send.request.recipients.map((id) => (id === userId ? this.tag(userId) : id)),
      ...(send.failures ? { failures: this.maskFailures(send.failures, userId) } : {}),
    };
  }

  /** The sends that match `filter`, each given `change(send)`: a send is counted once however many parts change. */
  private async maskSends(filter: Filter<SendDocument>, change: (send: SendDocument) => Document): Promise<void> {
    for (const send of await this.database.sends.find(filter).toArray()) {
      const result = await this.database.sends.updateOne({ _id: send._id }, { $set: change(send) });
      this.touched.sends += result.modifiedCount;
    }
  }

  /**
   * Erases what holds one address. `inUsers`: also remove it from the users that hold it and mask it in snapshot
   * copies (an erasure by address; an erasure by user id deleted its user, and leaves other users alone).
   */
  async eraseAddress(address: string, { inUsers }: { inUsers: boolean }): Promise<void> {
    const forms = addressForms(address);
    if (inUsers) await this.removeFromUsers(forms);
    await this.maskMessageRequests(forms);
    await this.maskCallbackEvents(forms);
    const email = isEmailAddress(address);
    await this.maskSends(
      {
        $or: [
          { 'request.emailCarbonCopies': { $in: forms } },
          { 'request.emailBlindCarbonCopies': { $in: forms } },
          { 'request.emailSender': { $in: forms } },
        ],
      },
      (send) => ({
        'request.emailCarbonCopies': send.request.emailCarbonCopies.map((cc) => (forms.includes(cc) ? ERASED : cc)),
        'request.emailBlindCarbonCopies': send.request.emailBlindCarbonCopies.map((bcc) =>
          forms.includes(bcc) ? ERASED : bcc,
        ),
        ...(send.request.emailSender !== undefined && forms.includes(send.request.emailSender)
          ? { 'request.emailSender': ERASED }
          : {}),
      }),
    );
    if (!email) {
      await this.deleteConversations(forms, digitsOf(address));
      await this.deleteInboundMessages(forms);
    }
  }

  private async removeFromUsers(forms: string[]): Promise<void> {
    for (const field of [this.fields.emailAddress, this.fields.phoneNumber]) {
      const result = await this.database.users.updateMany({ [field]: { $in: forms } }, { $unset: { [field]: '' } });
      this.touched.users += result.modifiedCount;
      const pages = await this.database.audiencePages.find({ [`users.${field}`]: { $in: forms } }).toArray();
      for (const page of pages) {
        const users = page.users?.map((user) =>
          forms.includes(user[field] as string) ? { ...user, [field]: ERASED } : user,
        );
        const result = await this.database.audiencePages.updateOne(
          { _id: page._id, users: { $exists: true } },
          { $set: { users } },
        );
        this.touched.audiencePages += result.modifiedCount;
      }
    }
  }

  /**
   * `POST /messages` requests that name the address: it becomes `erased` in `to`, `cc` and `bcc`, the data of each
   * message that named it is emptied, and the provider answers of its ledger entries are masked. The request, its
   * other addresses and its counts stay.
   */
  private async maskMessageRequests(forms: string[]): Promise<void> {
    const requests = this.database.messageRequests;
    const named = { $in: forms };
    const found = await requests
      .find({ $or: [{ 'messages.to': named }, { 'messages.cc': named }, { 'messages.bcc': named }] })
      .toArray();
    for (const request of found) {
      const entries: string[] = [];
      const mask = (list: string[]) => list.map((address) => (forms.includes(address) ? ERASED : address));
      const messages = request.messages.map((message): StoredMessage => {
        if (![...message.to, ...message.cc, ...message.bcc].some((address) => forms.includes(address))) return message;
        message.to.forEach((address, index) => {
          if (forms.includes(address))
            entries.push(`${request._id}|${message.channel}|${messageAddressKey(message.n, index)}`);
        });
        return { ...message, to: mask(message.to), cc: mask(message.cc), bcc: mask(message.bcc), data: {} };
      });
      if (entries.length > 0) {
        const masked = await this.database.deliveries.updateMany(
          { _id: { $in: entries }, error: { $type: 'string', $ne: ERASED } },
          { $set: { error: ERASED } },
        );
        this.touched.deliveries += masked.modifiedCount;
      }
      const result = await requests.updateOne({ _id: request._id }, { $set: { messages } });
      this.touched.messageRequests += result.modifiedCount;
    }
  }

  /** Callback events of the address: its `to`, and the provider's answer, become `erased`; they are still posted. */
  private async maskCallbackEvents(forms: string[]): Promise<void> {
    const events = this.database.callbackEvents;
    for (const event of await events.find({ 'payload.to': { $in: forms } }).toArray()) {
      const result = await events.updateOne(
        { _id: event._id },
        {
          $set: {
            'payload.to': ERASED,
            ...(event.payload.error !== undefined ? { 'payload.error': ERASED } : {}),
          },
        },
      );
      this.touched.callbackEvents += result.modifiedCount;
    }
  }

  /**
   * The conversations with the number (theirs alone: the customer, the template's data, the answers): the workflow of
   * an open one is stopped, then its transcript, its ledger entries, dispatch claims and provider message ids, its lock
   * and its document go, the document last so that a repeat after a crash finds the rest again. Locks of the number
   * left without a conversation go too.
   */
  private async deleteConversations(forms: string[], digits: string): Promise<void> {
    const conversations = this.database.conversations;
    for (const conversation of await conversations.find({ 'request.to': { $in: forms } }).toArray()) {
      if (OPEN_CONVERSATION.includes(conversation.status)) await this.options.stopConversation?.(conversation._id);
      const conversationId = conversation._id;
      this.touched.conversationEvents += (
        await this.database.conversationEvents.deleteMany({ conversationId })
      ).deletedCount;
      this.touched.deliveries += (await this.database.deliveries.deleteMany({ sendId: conversationId })).deletedCount;
      this.touched.dispatchClaims += (
        await this.database.dispatchClaims.deleteMany({ sendId: conversationId })
      ).deletedCount;
      this.touched.providerMessages += (
        await this.database.providerMessages.deleteMany({ requestId: conversationId })
      ).deletedCount;
      this.touched.conversationLocks += (
        await this.database.conversationLocks.deleteMany({ conversationId })
      ).deletedCount;
      this.touched.conversations += (await conversations.deleteOne({ _id: conversationId })).deletedCount;
    }
    if (digits.length > 0)
      this.touched.conversationLocks += (
        await this.database.conversationLocks.deleteMany({ _id: { $regex: `\\|${digits}$` } })
      ).deletedCount;
  }

  /** What the number wrote to a business number (its text, its number): deleted. */
  private async deleteInboundMessages(forms: string[]): Promise<void> {
    const inbound = this.database.inboundMessages;
    this.touched.inboundMessages += (await inbound.deleteMany({ from: { $in: forms } })).deletedCount;
  }
}
