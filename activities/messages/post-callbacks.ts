import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  statusRank,
  type CallbackEventDocument,
  type CallbackEventsRepository,
} from '../../common/store/messaging/callback-events-repository';
import type { AppConfig } from '../../common/config/config';
import { mapWithConcurrency } from '../../common/toolkit/concurrency';
import { FAILURE_TYPES } from '../../common/temporal/failure-types';
import type { MessageRequestsRepository } from '../../common/store/messaging/message-requests-repository';
import type { OutgoingHttpClient } from '../../common/http/outgoing-http';
import { callbackSecret, postSignedJson } from '../../common/http/webhook-urls';

export interface CallbackDeps {
  config: AppConfig;
  messageRequests: MessageRequestsRepository;
  callbackEvents: CallbackEventsRepository;
  callbackHttp: OutgoingHttpClient;
}

/** Events read per page; addresses posted to at once. */
const PAGE_SIZE = 500;
const POSTS_IN_FLIGHT = 16;
/** How long a poster holds an event it posts: longer than one POST may take (`OutgoingHttpClient`'s 10 s). */
const LEASE_MS = 60_000;

/**
 * Posts every pending callback event of a request (docs/os1-messaging.md), each address's in the order its
 * statuses happened, signed with the requesting API key's secret. A 2xx marks the event delivered; anything else
 * leaves it pending and fails the activity, which Temporal retries with backoff. An event older than the retry window
 * (`callbacks.retryWindowMinutes`) is given up (`expired`) instead of posted, so the attempt after the window ends.
 * An event another poster holds (the lease) is left to it: each change is posted once (a crash between the 2xx and
 * its record is the one window where a receiver sees an `eventId` twice).
 */
export async function postCallbacks(deps: CallbackDeps, input: { requestId: string }): Promise<{ posted: number }> {
  const { requestId } = input;
  const context = Context.current();
  const request = await deps.messageRequests.get(requestId);
  if (!request?.callback) return { posted: 0 };
  const { url, meta } = request.callback;
  const secret = callbackSecret(deps.config.env, request.apiKeyId);
  const windowMs = deps.config.service.callbacks.retryWindowMinutes * 60_000;

  let posted = 0;
  const failures: string[] = [];
  for (let after: string | null = null; ;) {
    const page = await deps.callbackEvents.pending(requestId, after, PAGE_SIZE);
    if (page.length === 0) break;
    const full = page.length === PAGE_SIZE;
    const byAddress = new Map<string, CallbackEventDocument[]>();
    for (const event of page) byAddress.set(event.deliveryKey, [...(byAddress.get(event.deliveryKey) ?? []), event]);
    // A full page may end inside an address's events (keys sort by status name, not by order): that address waits
    // for the next page, which starts with all of them.
    if (full && byAddress.size > 1) byAddress.delete(page[page.length - 1].deliveryKey);
    const kept = [...byAddress.values()].flat();
    after = kept.reduce((last, event) => (event._id > last ? event._id : last), kept[0]._id);
    await mapWithConcurrency([...byAddress.values()], POSTS_IN_FLIGHT, async (read) => {
      // An address's events are read again once posted: one added meanwhile (a delivery report while this poster held
      // the address) is this poster's to post, since the poster the report started found the address held and left.
      for (let events = read; events.length > 0;) {
        events.sort((a, b) => statusRank(a.payload.status) - statusRank(b.payload.status));
        for (const event of events) {
          if (Date.now() - event.createdAt.getTime() > windowMs) {
            await deps.callbackEvents.expire(event._id);
            continue;
          }
          const leased = await deps.callbackEvents.lease(event._id, LEASE_MS);
          if (!leased) {
            // Posted by another poster since it was read: the next one is due.
            if (!(await deps.callbackEvents.isPending(event._id))) continue;
            // Held by another poster: it posts this address's later events too, in order.
            return;
          }
          const { problem } = await postSignedJson(
            deps.callbackHttp,
            { url, secret },
            JSON.stringify({ ...event.payload, meta }),
            'messaging-service-callbacks',
          );
          context.heartbeat();
          if (problem === undefined) {
            await deps.callbackEvents.delivered(leased);
            posted++;
            continue;
          }
          await deps.callbackEvents.attemptFailed(leased, problem);
          failures.push(problem);
          // The later statuses of this address wait for this one.
          return;
        }
        events = await deps.callbackEvents.pendingOfAddress(requestId, read[0].deliveryKey);
      }
    });
    if (!full) break;
  }
  if (failures.length > 0) {
    throw ApplicationFailure.create({
      type: FAILURE_TYPES.callbackNotAccepted,
      message: `${failures.length} callbacks not accepted (retried until the window ends): ${failures[0]}`,
    });
  }
  return { posted };
}
