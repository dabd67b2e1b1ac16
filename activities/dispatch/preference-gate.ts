import type { Channel } from '../../common/config/config';
import { decideByPreferences, isCriticalSend, type Preferences } from '../../common/domain/preferences';
import type { SendRequest } from '../../common/domain/send-types';
import type { DeliveryOutcome } from '../../common/store/deliveries-repository';
import type { PreferencesRepository } from '../../common/store/preferences-repository';
import { SharedLoads } from '../../common/toolkit/concurrency';
import type { UserLoader } from '../user-loader';

const CACHED_PAGES = 16;

/** What a batch's users' preferences let through: the deliveries turned off, and how to mark the others' outcomes. */
export interface PreferenceVerdict {
  /** The `skipped OPTED_OUT` outcome of each delivery its user turned off. */
  turnedOff: Map<string, DeliveryOutcome>;
  /** An outcome as the ledger records it: a critical send's says that it went whatever the preferences. */
  mark(outcome: DeliveryOutcome): DeliveryOutcome;
}

const unmarked = (outcome: DeliveryOutcome) => outcome;
const markedCritical = (outcome: DeliveryOutcome): DeliveryOutcome => ({ ...outcome, critical: true });

/**
 * Decides which deliveries of a dispatch batch the users' preferences turn off (docs/preferences.md). A batch of an
 * audience page reads the preferences of the whole page in one query, once per worker, shared by every channel and
 * batch of the page (as the page's user documents are); a batch without a page (a retry) reads its own users'.
 */
export class PreferenceGate {
  private readonly pages = new SharedLoads<Map<string, Preferences>>(CACHED_PAGES);

  constructor(
    private readonly preferences: PreferencesRepository,
    private readonly userLoader: UserLoader,
    private readonly criticalCategories: readonly string[],
  ) {}

  async check(
    sendId: string,
    request: Pick<SendRequest, 'category' | 'critical'>,
    channel: Channel,
    userIds: string[],
    page?: number,
  ): Promise<PreferenceVerdict> {
    if (isCriticalSend(request, this.criticalCategories)) return { turnedOff: new Map(), mark: markedCritical };
    const preferences = await this.forUsers(sendId, userIds, page);
    const turnedOff = new Map<string, DeliveryOutcome>();
    for (const userId of userIds) {
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
    return { turnedOff, mark: unmarked };
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
