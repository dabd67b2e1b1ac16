import type { Collection } from 'mongodb';
import type { Database } from './db';

/** Whose values: the tenant's (`tenant`) or one application's (`app:<appId>`). */
export type PlaceholderScope = 'tenant' | `app:${string}`;

/** The placeholder values of one scope, set whole by `PUT /placeholders` or `PUT /apps/:appId/placeholders`. */
export interface PlaceholdersDocument {
  _id: PlaceholderScope;
  values: Record<string, string>;
  updatedAt: Date;
}

/** The values a message's templates can use besides its own `data`: the tenant's and its application's. */
export interface ScopedPlaceholders {
  tenant: Record<string, string>;
  app: Record<string, string>;
}

export const appScope = (appId: string): PlaceholderScope => `app:${appId}`;

/** Tenant and application placeholder values (`placeholders`), one document per scope. */
export class PlaceholdersRepository {
  private readonly placeholders: Collection<PlaceholdersDocument>;

  constructor(database: Pick<Database, 'placeholders'>) {
    this.placeholders = database.placeholders;
  }

  /** The scope's values; empty, never updated, when none were set. */
  async get(scope: PlaceholderScope): Promise<{ values: Record<string, string>; updatedAt: Date | null }> {
    const found = await this.placeholders.findOne({ _id: scope });
    return { values: found?.values ?? {}, updatedAt: found?.updatedAt ?? null };
  }

  /**
   * Replaces the scope's values whole: an upsert by `_id`, so a repeated or concurrent `PUT` leaves one document,
   * the last one written, without a transaction.
   */
  async set(scope: PlaceholderScope, values: Record<string, string>): Promise<PlaceholdersDocument> {
    const document: PlaceholdersDocument = { _id: scope, values, updatedAt: new Date() };
    await this.placeholders.replaceOne({ _id: scope }, document, { upsert: true });
    return document;
  }

  /** The tenant's values and those of `appId` (none without one), read together for a whole request. */
  async forApp(appId: string | undefined): Promise<ScopedPlaceholders> {
    const scopes: PlaceholderScope[] = appId === undefined ? ['tenant'] : ['tenant', appScope(appId)];
    const found = await this.placeholders.find({ _id: { $in: scopes } }).toArray();
    const valuesOf = (scope: PlaceholderScope) => found.find((document) => document._id === scope)?.values ?? {};
    return { tenant: valuesOf('tenant'), app: appId === undefined ? {} : valuesOf(appScope(appId)) };
  }
}
