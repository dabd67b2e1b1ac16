import { SharedLoads } from '../../common/toolkit/concurrency';
import type { MessageRequestDocument } from '../../common/store/messaging/message-requests-repository';
import { MessageRenderer } from '../../common/rendering/rendering';
import { renderPoolOptions, sharedRenderPool } from '../../common/rendering/render-pool';
import type { ActivityDeps } from '../activity-deps';
import type { ActivityMetrics } from '../activity-metrics';
import type { ChannelRateLimiter } from '../rate-limiter';
import { dispatchMessages, type MessageDispatchInput } from './dispatch-messages';
import { finishMessages, type FinishMessagesInput } from './finish-messages';
import type { CancelledSends } from '../dispatch/cancelled-sends';
import { postCallbacks } from './post-callbacks';
import { OsMessageRenderer } from './render-message';

export type { MessageDispatchInput, MessageDispatchResult } from './dispatch-messages';

/** Requests kept in memory per worker: each batch of a request reads it once. */
const CACHED_REQUESTS = 64;

/**
 * The activities of `POST /messages` (docs/os1-messaging.md): dispatching a batch of message objects, posting
 * the callbacks, and the totals. They share the `/send` dispatches' rate limiter and metrics.
 */
export function createMessageActivities(
  deps: ActivityDeps,
  shared: { metrics: ActivityMetrics; limiter: ChannelRateLimiter; cancelledSends: CancelledSends },
) {
  const dispatchDeps = {
    ...deps,
    ...shared,
    renderer: new OsMessageRenderer(
      new MessageRenderer(deps.config.env.DEFAULT_LOCALE),
      sharedRenderPool(renderPoolOptions(deps.config.env)),
      deps.config.service.sender,
    ),
    requestCache: new SharedLoads<MessageRequestDocument>(CACHED_REQUESTS),
  };
  return {
    dispatchMessages: (input: MessageDispatchInput) => dispatchMessages(dispatchDeps, input),
    postCallbacks: (input: { requestId: string }) => postCallbacks(deps, input),
    finishMessages: (input: FinishMessagesInput) => finishMessages(deps, input),
  };
}
