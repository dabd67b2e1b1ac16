/** Infobip's error JSON: `{ requestError: { serviceException: { messageId, text } } }`. */
export const readInfobipError = (body: unknown) => {
  const error = (body as { requestError?: { serviceException?: { messageId?: string; text?: string } } })?.requestError
    ?.serviceException;
  return { code: error?.messageId ? `INFOBIP_${error.messageId}` : undefined, detail: error?.text };
};
