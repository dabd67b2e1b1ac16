import type { ActivityDeps } from './activity-deps';
import { ActivityMetrics } from './activity-metrics';
import { createAudienceActivities } from './audience';
import { AudienceSnapshots } from './audience-snapshots';
import { createConversationActivities } from './conversations';
import { createDigestActivities } from './digests';
import { CancelledSends } from './dispatch/cancelled-sends';
import { createDeferredDeliveryActivities } from './dispatch/deferred-deliveries';
import { PreferenceGate } from './dispatch/preference-gate';
import { dispatchDeliveries, type DispatchDeps, type DispatchInput } from './dispatch/dispatch-deliveries';
import { createFinishSendActivity } from './finish-send';
import { createSendScheduleActivities } from './send-at';
import { createFlowManagerActivity } from './flow-manager-activities';
import { createInboundActivities } from './inbound';
import { createMessageActivities } from './messages';
import { ChannelRateLimiter } from './rate-limiter';
import { createRecurringSendActivity } from './recurring-sends';
import { SendContextCache } from './send-context';
import { UserLoader } from './user-loader';

export type { ActivityDeps } from './activity-deps';
export { ActivityMetrics } from './activity-metrics';
export type { DispatchInput, DispatchResult } from './dispatch/dispatch-deliveries';
export type { ClaimDeferredInput, ClaimedDeferred } from './dispatch/deferred-deliveries';
export type { MessageDispatchInput, MessageDispatchResult } from './messages';
export type { DigestFlushInput, DigestFlushResult } from './digests';

/**
 * The send activities, built from their dependencies (`createActivities(deps)`: dependencies are passed in, never
 * imported), so tests pass real clients pointed at the simulator without module mocking. Each group lives in its own
 * file: who a send goes to (audience.ts), the dispatches (dispatch/), the totals (finish-send.ts), the saga event
 * (flow-manager-activities.ts), and `POST /messages` (messages/).
 */
export function createActivities(deps: ActivityDeps) {
  const snapshots = new AudienceSnapshots(deps.audiencePages);
  const metrics = deps.metrics ?? new ActivityMetrics();
  const limiter = new ChannelRateLimiter(deps.rateTokens, deps.config.service.rateLimits, metrics, {
    maxPauseWaitMs: deps.config.service.retryAfter.capMs,
  });
  const cancelledSends = new CancelledSends(deps.sendCancellations);
  const userLoader = new UserLoader(deps.users, snapshots);
  const dispatchDeps: DispatchDeps = {
    ...deps,
    metrics,
    contexts: new SendContextCache(deps),
    userLoader,
    preferenceGate: new PreferenceGate(
      deps.preferences,
      userLoader,
      deps.config.service.criticalCategories,
      deps.suppressions,
      deps.throttleClaims,
    ),
    limiter,
    cancelledSends,
  };
  return {
    ...createAudienceActivities(deps, snapshots),
    dispatchEmail: (input: DispatchInput) => dispatchDeliveries(dispatchDeps, 'email', input),
    dispatchSms: (input: DispatchInput) => dispatchDeliveries(dispatchDeps, 'sms', input),
    dispatchPush: (input: DispatchInput) => dispatchDeliveries(dispatchDeps, 'push', input),
    dispatchVoice: (input: DispatchInput) => dispatchDeliveries(dispatchDeps, 'voice', input),
    dispatchWhatsapp: (input: DispatchInput) => dispatchDeliveries(dispatchDeps, 'whatsapp', input),
    ...createDeferredDeliveryActivities(deps),
    ...createFinishSendActivity(deps, snapshots),
    ...createSendScheduleActivities(deps),
    ...createFlowManagerActivity(deps),
    ...createRecurringSendActivity(deps),
    ...createMessageActivities(deps, { metrics, limiter, cancelledSends }),
    ...createInboundActivities(deps),
    ...createConversationActivities(deps, { metrics, limiter }),
    ...createDigestActivities(deps),
  };
}

export type SendActivities = ReturnType<typeof createActivities>;
