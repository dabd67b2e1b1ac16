import type { Collection, Filter } from 'mongodb';
import type { Channel } from '../config/config';
import type { EncryptedCredentials } from '../crypto/credentials-cipher';
import { isDuplicateKey, type Database } from './db';

/**
 * A registered provider (`/providers`, docs/os1-messaging.md), keyed by its name. Its credentials are the
 * settings of its type, encrypted (`CredentialsCipher`); only the names of their fields are kept in the clear.
 */
export interface ProviderDocument {
  _id: string;
  name: string;
  /** A type of providers/provider-registry.ts (the API checks it before storing). */
  providerType: string;
  channel: Channel;
  credentials: EncryptedCredentials;
  /** The names of the credentials' fields, which a client may be shown (never their values). */
  credentialFields: string[];
  isActive: boolean;
  /**
   * The provider asked to be its channel's tenant default. The default itself is the channel's `tenantDefaults`
   * document (`tenantDefault(channel)`, `defaultProviders()`): this flag is what tells a live claim there from one a
   * crash left behind.
   */
  isTenantDefault: boolean;
  /**
   * WhatsApp: where an inbound message that no open conversation awaits is forwarded, signed with `secret` (docs/api.md
   * "Providers"); the secret encrypted like the credentials, and as write-only.
   */
  inboundWebhook?: { url: string; secret: EncryptedCredentials };
  createdAt: Date;
  updatedAt: Date;
}

/** The tenant default provider of a channel (`_id`): at most one, since the store keeps `_id`s unique. */
export interface TenantDefaultDocument {
  _id: string;
  provider: string;
}

/** What `PATCH /providers/:name` may change: credentials are replaced whole; `inboundWebhook: null` removes it. */
export type ProviderPatch = Partial<
  Pick<ProviderDocument, 'isActive' | 'isTenantDefault' | 'credentials' | 'credentialFields'> & {
    inboundWebhook: ProviderDocument['inboundWebhook'] | null;
  }
>;

/** A write the store refused: the name is taken, or the channel has another tenant default (`holder`). */
export class ProviderConflictError extends Error {
  override name = 'ProviderConflictError';
  constructor(
    readonly field: 'name' | 'isTenantDefault',
    message: string,
    readonly holder?: string,
  ) {
    super(message);
  }
}

/** A provider of a batch (`createAll`) the store refused, by its index; the ones stored before it are removed. */
export class ProviderBatchError extends Error {
  override name = 'ProviderBatchError';
  constructor(
    readonly index: number,
    override readonly cause: unknown,
  ) {
    super(`provider ${index}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** How often a claim of a tenant default is tried again after the store changed under it. */
const CLAIM_ATTEMPTS = 5;

/**
 * The provider registry. At most one tenant default per channel, kept by the store: the channel's document in
 * `tenantDefaults` (`_id` = channel) names it, and only one insert of an `_id` succeeds, so of two concurrent
 * claims one wins without reading first. A claim whose provider is gone or no longer asks to be the default (a
 * crash between two writes) is taken over with a compare-and-set on the provider it names.
 */
export class ProvidersRepository {
  private readonly providers: Collection<ProviderDocument>;
  private readonly defaults: Collection<TenantDefaultDocument>;

  constructor(database: Pick<Database, 'providers' | 'tenantDefaults'>) {
    this.providers = database.providers;
    this.defaults = database.tenantDefaults;
  }

  get(name: string): Promise<ProviderDocument | null> {
    return this.providers.findOne({ _id: name });
  }

  list(filter: { channel?: Channel; providerType?: string; limit: number; skip: number }): Promise<ProviderDocument[]> {
    const query: Filter<ProviderDocument> = {
      ...(filter.channel !== undefined ? { channel: filter.channel } : {}),
      ...(filter.providerType !== undefined ? { providerType: filter.providerType } : {}),
    };
    return this.providers.find(query).sort({ _id: 1 }).skip(filter.skip).limit(filter.limit).toArray();
  }

  /**
   * The channel's tenant default, or null (none, or a claim a crash left behind). Active or not. `defaults`: the claims
   * already read by `defaultProviders()`, so that a request choosing for several channels reads them once.
   */
  async tenantDefault(channel: Channel, defaults?: Map<string, string>): Promise<ProviderDocument | null> {
    const name = defaults ? defaults.get(channel) : (await this.defaults.findOne({ _id: channel }))?.provider;
    if (name === undefined) return null;
    const provider = await this.get(name);
    return provider && this.holds(provider, channel) ? provider : null;
  }

  /** Each channel's tenant default provider's name: how a list answers `isTenantDefault`. */
  async defaultProviders(): Promise<Map<string, string>> {
    const entries = await this.defaults.find({}).toArray();
    return new Map(entries.map((entry) => [entry._id, entry.provider]));
  }

  /**
   * Stores a new provider and, when it asks to be, makes it its channel's default. `ProviderConflictError` when the
   * name is taken or the channel has a default: then nothing is stored.
   */
  async create(provider: ProviderDocument): Promise<void> {
    try {
      await this.providers.insertOne(provider);
    } catch (error) {
      if (isDuplicateKey(error))
        throw new ProviderConflictError('name', `name: a provider named "${provider.name}" exists`);
      throw error;
    }
    if (!provider.isTenantDefault) return;
    try {
      await this.claimDefault(provider.channel, provider.name);
    } catch (error) {
      // Ours: names are unique, and its creation time tells it from one created again since.
      await this.providers.deleteOne({ _id: provider._id, createdAt: provider.createdAt });
      throw error;
    }
  }

  /** The names of `names` that providers have. */
  async takenNames(names: string[]): Promise<Set<string>> {
    const docs = await this.providers.find({ _id: { $in: names } }, { projection: { _id: 1 } }).toArray();
    return new Set(docs.map((doc) => doc._id));
  }

  /**
   * Stores new providers all or nothing, without a transaction (FerretDB has none): one after the other as `create`
   * stores one; when the store refuses one, those stored before it are removed again and `ProviderBatchError` names
   * its index. While it runs, the providers stored so far can be read and sent through, and a name of theirs is taken
   * for a concurrent request; a process that dies midway leaves them stored. Of two concurrent batches that share
   * names, at most one is stored (both may be refused).
   */
  async createAll(providers: ProviderDocument[]): Promise<void> {
    const created: ProviderDocument[] = [];
    for (const [index, provider] of providers.entries()) {
      try {
        await this.create(provider);
      } catch (error) {
        // Every removal is tried even if one fails (the store gone): the refusal is what the caller must hear.
        await Promise.allSettled(created.map((done) => this.removeCreated(done)));
        throw new ProviderBatchError(index, error);
      }
      created.push(provider);
    }
  }

  /**
   * Applies a patch; null when no provider has this name. Becoming the default is claimed before the other fields
   * are set, so a refused claim (`ProviderConflictError`) changes nothing; giving it up frees the channel.
   */
  async update(name: string, patch: ProviderPatch): Promise<ProviderDocument | null> {
    const { isTenantDefault, ...fields } = patch;
    if (isTenantDefault === true) {
      const before = await this.providers.findOneAndUpdate({ _id: name }, { $set: { isTenantDefault: true } });
      if (!before) return null;
      try {
        await this.claimDefault(before.channel, name);
      } catch (error) {
        if (!before.isTenantDefault)
          await this.providers.updateOne({ _id: name }, { $set: { isTenantDefault: false } });
        throw error;
      }
    }
    const { inboundWebhook, ...set } = fields;
    const after = await this.providers.findOneAndUpdate(
      { _id: name },
      {
        $set: {
          ...set,
          ...(inboundWebhook ? { inboundWebhook } : {}),
          ...(isTenantDefault === false ? { isTenantDefault: false } : {}),
          updatedAt: new Date(),
        },
        ...(inboundWebhook === null ? { $unset: { inboundWebhook: '' as const } } : {}),
      },
      { returnDocument: 'after' },
    );
    if (after && isTenantDefault === false) await this.defaults.deleteOne({ _id: after.channel, provider: name });
    return after;
  }

  /** False when no provider has this name; a default it was is freed. */
  async remove(name: string): Promise<boolean> {
    const removed = await this.providers.findOneAndDelete({ _id: name });
    if (!removed) return false;
    await this.defaults.deleteOne({ _id: removed.channel, provider: name });
    return true;
  }

  /** Removes a provider this request created (its creation time tells it from one created again since) and its claim. */
  private async removeCreated(provider: ProviderDocument): Promise<void> {
    const removed = await this.providers.deleteOne({ _id: provider._id, createdAt: provider.createdAt });
    if (removed.deletedCount === 1 && provider.isTenantDefault)
      await this.defaults.deleteOne({ _id: provider.channel, provider: provider.name });
  }

  /** Whether `provider`'s claim of `channel` is live: it exists there and still asks to be the default. */
  private holds(provider: ProviderDocument, channel: Channel): boolean {
    return provider.isTenantDefault && provider.channel === channel;
  }

  /**
   * Makes `name` the channel's default: an insert of the channel's `_id`, which only one claimant wins. A claim that
   * is held answers `ProviderConflictError` naming its provider, unless that provider does not hold it any more
   * (gone, or no longer asking): then it is taken over by a compare-and-set, which again only one claimant wins.
   */
  private async claimDefault(channel: Channel, name: string): Promise<void> {
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      try {
        await this.defaults.insertOne({ _id: channel, provider: name });
        return;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
      const entry = await this.defaults.findOne({ _id: channel });
      if (!entry) continue;
      if (entry.provider === name) return;
      const holder = await this.get(entry.provider);
      if (holder && this.holds(holder, channel)) {
        throw new ProviderConflictError(
          'isTenantDefault',
          `isTenantDefault: ${channel} has a tenant default provider, "${entry.provider}"; make that one not the default first`,
          entry.provider,
        );
      }
      const taken = await this.defaults.updateOne(
        { _id: channel, provider: entry.provider },
        { $set: { provider: name } },
      );
      if (taken.modifiedCount === 1) return;
    }
    throw new ProviderConflictError(
      'isTenantDefault',
      `isTenantDefault: ${channel}'s tenant default changed while this request claimed it; try again`,
    );
  }
}

/**
 * The path of a WhatsApp provider's inbound webhook (docs/os1-messaging.md), whose token `providerWebhookUrl`
 * derives from this very path: the route that receives it rebuilds the path from the name the same way.
 */
export const whatsappInboundWebhookPath = (name: string): string =>
  `/webhooks/whatsapp/${encodeURIComponent(name)}/communications`;
