/**
 * Names shared by the API (which starts and queries workflows) and the worker (which runs them). One place,
 * so the two sides cannot drift apart.
 */
export const WORKFLOW_TYPES = {
  sendMessage: 'sendMessage',
  sagaSendMessage: 'sagaSendMessage',
} as const;

/** Custom search attributes (spec §6); `npm run dev` and the tests register them when the server starts. */
export const SEARCH_ATTRIBUTES = {
  channels: { name: 'channels', type: 'KeywordList' },
  templateId: { name: 'templateId', type: 'Keyword' },
  sagaId: { name: 'sagaId', type: 'Keyword' },
  recipientCount: { name: 'recipientCount', type: 'Int' },
  sendStatus: { name: 'sendStatus', type: 'Keyword' },
} as const;

/** `--search-attribute name=Type` arguments for `temporal server start-dev`. */
export const searchAttributeFlags = (): string[] =>
  Object.values(SEARCH_ATTRIBUTES).flatMap((attribute) => [
    '--search-attribute',
    `${attribute.name}=${attribute.type}`,
  ]);

export const PROGRESS_QUERY = 'progress';
