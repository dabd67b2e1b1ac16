import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * The custom search attributes of send workflows (docs/operating-sends.md "Find a send in the Temporal UI"), declared
 * once: the API sets them when it starts a workflow, the workflow upserts them, and the dev-server launcher registers
 * them (`searchAttributeFlags`). Upserting one the server does not know fails the workflow task, and the send hangs.
 */
export const SEARCH_ATTRIBUTES = {
  /** The requested channels; `channels = "sms"` matches every send that includes sms. */
  channels: defineSearchAttributeKey('channels', SearchAttributeType.KEYWORD_LIST),
  /** The template; absent on `messageTitle`/`messageContent` sends. */
  templateId: defineSearchAttributeKey('templateId', SearchAttributeType.KEYWORD),
  /** Saga sends and their retries. */
  sagaId: defineSearchAttributeKey('sagaId', SearchAttributeType.KEYWORD),
  /** Users found (a retry: users re-dispatched to), set when the send ends. */
  recipientCount: defineSearchAttributeKey('recipientCount', SearchAttributeType.INT),
  /** `scheduled` while it waits for its `sendAt`, `running` from then, then `completed`, `failed` or `cancelled`. */
  sendStatus: defineSearchAttributeKey('sendStatus', SearchAttributeType.KEYWORD),
  /** A two-way conversation's status: `sending`, `awaiting_response`, `answered`, `timed_out`, `failed`. */
  conversationStatus: defineSearchAttributeKey('conversationStatus', SearchAttributeType.KEYWORD),
  /** A conversation's customer as `customerHash(CUSTOMER_HASH_SECRET, number)` (common/domain/conversation-model.ts), never the number. */
  customerHash: defineSearchAttributeKey('customerHash', SearchAttributeType.KEYWORD),
  /** A scheduled send's `sendAt`: `scheduledFor < "…"` is what goes out before then. */
  scheduledFor: defineSearchAttributeKey('scheduledFor', SearchAttributeType.DATETIME),
} as const;

/** The names the Temporal CLI uses for each attribute type (`--type KeywordList`). */
const CLI_TYPE_NAMES: Record<SearchAttributeType, string> = {
  [SearchAttributeType.TEXT]: 'Text',
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.INT]: 'Int',
  [SearchAttributeType.DOUBLE]: 'Double',
  [SearchAttributeType.BOOL]: 'Bool',
  [SearchAttributeType.DATETIME]: 'Datetime',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
};

/** Every attribute as `{ name, type }`, `type` spelled as the Temporal CLI spells it. */
export const searchAttributeDefinitions = (): { name: string; type: string }[] =>
  Object.values(SEARCH_ATTRIBUTES).map((key) => ({ name: key.name, type: CLI_TYPE_NAMES[key.type] }));

/** `--search-attribute name=Type` arguments for `temporal server start-dev`. */
export const searchAttributeFlags = (): string[] =>
  searchAttributeDefinitions().flatMap(({ name, type }) => ['--search-attribute', `${name}=${type}`]);

/** The one-time registration on a Temporal cluster of your own (docs/configuration.md). */
export const searchAttributeCreateCommand = (): string =>
  `temporal operator search-attribute create ${searchAttributeDefinitions()
    .map(({ name, type }) => `--name ${name} --type ${type}`)
    .join(' ')}`;
