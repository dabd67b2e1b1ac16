import type { Channel } from '../../common/config/config';
import { decideByPreferences, isCriticalSend, type Preferences } from '../../common/domain/preferences';
import type { DeliveryOutcome } from '../../common/store/deliveries-repository';
import type { PreferencesRepository } from '../../common/store/preferences-repository';
import { quietHoursEndAt, timezoneOfUser } from '../../common/domain/quiet-hours';
import { normalAddress } from '../../common/domain/suppression-address';
import type { SuppressionsRepository } from '../../common/store/suppressions-repository';
import type { UserDocument } from '../../common/store/users-repository';
import { mapWithConcurrency, SharedLoads } from '../../common/toolkit/concurrency';
import { deliveryKey, type SendRequest } from '../../common/domain/send-types';
import type { ThrottleClaimsRepository } from '../../common/store/throttle-claims-repository';
import type { UserLoader } from '../user-loader';
import { addressOf, type DeliveryDeps } from './deliver';

const CACHED_PAGES = 16;
const THROTTLE_CLAIMS_IN_FLIGHT = 8;

/** What a batch's users' preferences let through: the deliveries turned off, and how to mark the others' outcomes. */
export interface PreferenceVerdict {
  /**
   * The outcome of each delivery not to attempt now: `skipped` `SUPPRESSED` (its address is on the channel's
   * suppression list), `OPTED_OUT` (its user turned it off), `QUIET_HOURS` or `THROTTLED`; or `deferred` until the
   * user's quiet hours end.
   */
  turnedOff: Map<string, DeliveryOutcome>;
  /** An outcome as the ledger records it: a critical send's says that it went whatever the preferences. */
  mark(outcome: DeliveryOutcome): DeliveryOutcome;
}

const unmarked = (outcome: DeliveryOutcome) => outcome;
const markedCritical = (outcome: DeliveryOutcome): DeliveryOutcome => ({ ...outcome, critical: true });

/**
 * Decides which deliveries of a dispatch batch are not attempted (docs/preferences.md): those to an address on the
 * channel's suppression list (critical sends included: the list says who must not be contacted at all, in one query
 * per batch), then those the users' preferences turn off, then, for a throttled send, those beyond its limit
 * (`THROTTLED`); a delivery inside its user's quiet hours is skipped or, when the dispatch may defer, `deferred` until
 * they end. A critical send ignores preferences, quiet hours and throttles. A batch of an
 * audience page reads the preferences of the whole page in one query, once per worker, shared by every channel and
 * batch of the page (as the page's user documents are); a batch without a page (a retry) reads its own users'.
 */
export class PreferenceGate {
  private readonly pages = new SharedLoads<Map<string, Preferences>>(CACHED_PAGES);

  constructor(
    private readonly preferences: PreferencesRepository,
    private readonly userLoader: UserLoader,
    private readonly criticalCategories: readonly string[],
    private readonly suppressions: SuppressionsRepository,
    private readonly throttleClaims: ThrottleClaimsRepository,
  ) {}

  async check(
    deps: Pick<DeliveryDeps, 'config'>,
    sendId: string,
    request: Pick<SendRequest, 'category' | 'critical' | 'throttle' | 'quietHours'>,
    channel: Channel,
    userIds: string[],
    users: Map<string, UserDocument>,
    page?: number,
    deferQuietHours = false,
  ): Promise<PreferenceVerdict> {
    const turnedOff = await this.suppressed(deps, channel, userIds, users);
    if (isCriticalSend(request, this.criticalCategories)) return { turnedOff, mark: markedCritical };
    const preferences = await this.forUsers(sendId, userIds, page);
    for (const userId of userIds) {
      if (turnedOff.has(userId)) continue;
      const userPreferences = preferences.get(userId);
      if (!userPreferences) continue;
      const { allowed, rule } = decideByPreferences(userPreferences, channel, request.category);
      if (allowed) continue;
      turnedOff.set(userId, {
        userId,
        channel,
        status: 'skipped',
        code: 'OPTED_OUT',
        error: optedOutReason(rule, channel, request.category),
        attempted: false,
      });
    }
    if (request.quietHours === 'skip' || deferQuietHours) {
      this.holdQuietHours(deps, request.quietHours ?? 'defer', channel, userIds, users, preferences, turnedOff);
    }
    if (request.throttle) await this.throttle(sendId, request.throttle, channel, userIds, turnedOff);
    return { turnedOff, mark: unmarked };
  }

  /**
   * Holds each delivery whose user is now inside the quiet hours of their own time zone: skipped `QUIET_HOURS` (a send
   * that says `quietHours: "skip"`), or `deferred` until they end, which the send's workflow releases then.
   */
  private holdQuietHours(
    deps: Pick<DeliveryDeps, 'config'>,
    hold: 'skip' | 'defer',
    channel: Channel,
    userIds: string[],
    users: Map<string, UserDocument>,
    preferences: Map<string, Preferences>,
    turnedOff: Map<string, DeliveryOutcome>,
  ): void {
    const { userFields, defaultTimezone } = deps.config.service;
    const now = new Date();
    for (const userId of userIds) {
      const quietHours = preferences.get(userId)?.quietHours;
      if (!quietHours || turnedOff.has(userId)) continue;
      const timezone = timezoneOfUser(users.get(userId), userFields.timezone, defaultTimezone);
      const endsAt = quietHoursEndAt(now, quietHours, timezone);
      if (endsAt === null) continue;
      turnedOff.set(userId, {
        userId,
        channel,
        status: hold === 'skip' ? 'skipped' : 'deferred',
        code: 'QUIET_HOURS',
        error: `inside the user's quiet hours until ${endsAt.toISOString()} (${timezone})`,
        attempted: false,
        ...(hold === 'defer' ? { releaseAt: endsAt } : {}),
      });
    }
  }

  /** Claims a slot of the send's throttle for each delivery still to go; one that gets none is skipped `THROTTLED`. */
  private async throttle(
    sendId: string,
    throttle: NonNullable<SendRequest['throttle']>,
    channel: Channel,
    userIds: string[],
    turnedOff: Map<string, DeliveryOutcome>,
  ): Promise<void> {
    const { limit, windowMs, key } = throttle;
    await mapWithConcurrency(
      userIds.filter((userId) => !turnedOff.has(userId)),
      THROTTLE_CLAIMS_IN_FLIGHT,
      async (userId) => {
        const scope = `${channel}|${userId}|${key ?? ''}`;
        if (await this.throttleClaims.claim(scope, deliveryKey(sendId, channel, userId), limit, windowMs)) return;
        turnedOff.set(userId, {
          userId,
          channel,
          status: 'skipped',
          code: 'THROTTLED',
          error: `at most ${limit} ${channel} messages${key ? ` of ${key}` : ''} in ${windowMs / 60_000} minutes`,
          attempted: false,
        });
      },
    );
  }

  /** The `skipped SUPPRESSED` outcome of each user whose address on the channel is suppressed. */
  private async suppressed(
    deps: Pick<DeliveryDeps, 'config'>,
    channel: Channel,
    userIds: string[],
    users: Map<string, UserDocument>,
  ): Promise<Map<string, DeliveryOutcome>> {
    const addresses = new Map<string, string>();
    for (const userId of userIds) {
      const address = addressOf(deps, channel, users.get(userId));
      const normal = address === undefined ? null : normalAddress(channel, address);
      if (normal !== null) addresses.set(userId, normal);
    }
    const suppressed = await this.suppressions.suppressedAmong(channel, [...addresses.values()]);
    const outcomes = new Map<string, DeliveryOutcome>();
    if (suppressed.size === 0) return outcomes;
    for (const [userId, address] of addresses) {
      if (!suppressed.has(address)) continue;
      outcomes.set(userId, {
        userId,
        channel,
        status: 'skipped',
        code: 'SUPPRESSED',
        error: `the address is on the ${channel} suppression list`,
        attempted: false,
      });
    }
    return outcomes;
  }

  private async forUsers(sendId: string, userIds: string[], page?: number): Promise<Map<string, Preferences>> {
    const pageUsers = page === undefined ? null : await this.userLoader.pageUsers(sendId, page);
    // A page whose copies of the users were dropped (a replay after the send ended) reads its batch's users alone.
    if (pageUsers === null) return this.preferences.forUsers(userIds);
    return this.pages.get(`${sendId}|${page}`, () => this.preferences.forUsers([...pageUsers.keys()]));
  }
}

function optedOutReason(rule: string, channel: Channel, category: string | undefined): string {
  if (rule === 'category-channel') return `the user turned ${category} off on ${channel}`;
  if (rule === 'category') return `the user turned ${category} off`;
  return `the user turned ${channel} off`;
}
