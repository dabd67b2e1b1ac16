import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parse as parseQueryString } from 'node:querystring';
import { z } from 'zod';
import { badRequest } from '../../common/domain/http-errors';
import { normalAddress } from '../../common/domain/suppression-address';
import { readUnsubscribeToken, type UnsubscribeSubject } from '../../common/http/unsubscribe-token';
import { errorResponses } from '../schemas/common-schemas';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
  `<title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;

/** What the link turns off, in words. */
const whatOf = (subject: UnsubscribeSubject) =>
  subject.category === undefined ? `all ${subject.channel} messages` : `"${subject.category}" messages`;

const tokenParams = z.object({ token: z.string().min(1).max(1024) });
const htmlOrJson = (description: string, json: z.ZodType) => ({
  description,
  content: {
    'application/json': { schema: json },
    'text/html': { schema: z.string().describe('The same as a small page') },
  },
});
const unsubscribedSchema = z.object({
  unsubscribed: z.literal(true),
  channel: z.string(),
  category: z.string().optional(),
});
const pendingSchema = z.object({ channel: z.string(), category: z.string().optional() });

/**
 * One-click unsubscribe (RFC 8058; docs/preferences.md): the link every non-critical email carries. `POST` (what a
 * mail client sends, `List-Unsubscribe=One-Click` as a form) turns the category, or the channel, off for the link's
 * user, or suppresses its address; `GET` (a person's browser, and the link scanners that follow every link) only shows
 * a page whose button posts. The token proves itself (`readUnsubscribeToken`): no API key, and a tampered one is a 400
 * that changes nothing. A browser (`Accept: text/html`) gets pages, any other caller JSON.
 */
export const unsubscribeRoutes: FastifyPluginAsyncZod = async (app) => {
  const { preferences, suppressions } = app.repositories;
  const { env } = app.config;
  // Mail clients post the one-click body as an HTML form.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) =>
    done(null, parseQueryString(body as string)),
  );
  const wantsHtml = (request: FastifyRequest) => request.headers.accept?.includes('text/html') ?? false;

  /** The token's subject, or the 400 (a page for a browser) that changes nothing. */
  const subjectOf = (token: string, request: FastifyRequest, reply: FastifyReply) => {
    const subject = readUnsubscribeToken(env, token);
    if (subject) return subject;
    if (wantsHtml(request)) {
      void reply
        .code(400)
        .type('text/html')
        .send(page('This link is not valid', '<p>Nothing was changed. Use the link of a message you received.</p>'));
      return null;
    }
    throw badRequest('token: not a valid unsubscribe link; nothing was changed');
  };

  app.get(
    '/unsubscribe/:token',
    {
      schema: {
        tags: ['unsubscribe'],
        security: [],
        operationId: 'showUnsubscribe',
        summary: 'The page of an unsubscribe link: a button that unsubscribes; the GET itself changes nothing',
        params: tokenParams,
        response: {
          200: htmlOrJson('What the link would turn off', pendingSchema),
          ...errorResponses({ 400: 'The token is not valid (tampered with, or not ours); nothing was changed' }),
        },
      },
    },
    async (request, reply) => {
      const subject = subjectOf(request.params.token, request, reply);
      if (!subject) return reply;
      if (!wantsHtml(request)) return { channel: subject.channel, category: subject.category };
      const current = subject.userId === undefined ? null : await preferences.get(subject.userId);
      const off = [
        ...Object.entries(current?.channels ?? {}).flatMap(([channel, on]) => (on ? [] : [`${channel} messages`])),
        ...Object.entries(current?.categories ?? {}).flatMap(([category, setting]) =>
          setting === false ? [`"${category}" messages`] : [],
        ),
      ];
      const summary =
        off.length === 0
          ? '<p>You currently receive every kind of message.</p>'
          : `<p>Already turned off: ${off.map(escapeHtml).join(', ')}.</p>`;
      return reply
        .type('text/html')
        .send(
          page(
            'Unsubscribe',
            `<p>Stop receiving ${escapeHtml(whatOf(subject))}?</p>` +
              `<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">` +
              `<button type="submit">Unsubscribe</button></form>${summary}`,
          ),
        );
    },
  );

  app.post(
    '/unsubscribe/:token',
    {
      schema: {
        tags: ['unsubscribe'],
        security: [],
        operationId: 'unsubscribe',
        summary: "One-click unsubscribe (RFC 8058): turns the category, or the channel, off for the link's recipient",
        params: tokenParams,
        body: z
          .looseObject({ 'List-Unsubscribe': z.literal('One-Click') })
          .describe('List-Unsubscribe=One-Click, as application/x-www-form-urlencoded'),
        response: {
          200: htmlOrJson('Unsubscribed (again, for a repeat)', unsubscribedSchema),
          ...errorResponses({
            400: 'The token is not valid, or the body is not List-Unsubscribe=One-Click; nothing was changed',
            413: 'A body over 64 KB',
            415: 'A body that is neither a form nor JSON',
          }),
        },
      },
    },
    async (request, reply) => {
      const subject = subjectOf(request.params.token, request, reply);
      if (!subject) return reply;
      const { channel, category } = subject;
      if (subject.userId !== undefined) {
        await preferences.patch(
          subject.userId,
          category === undefined ? { channels: { [channel]: false } } : { categories: { [category]: false } },
        );
      } else {
        const address = normalAddress(channel, subject.address!);
        if (address) await suppressions.add(channel, address, 'one-click unsubscribe', 'unsubscribe');
      }
      request.log.info({ channel, category }, 'unsubscribed by one-click link');
      if (!wantsHtml(request)) return { unsubscribed: true as const, channel, ...(category ? { category } : {}) };
      return reply
        .type('text/html')
        .send(page('Unsubscribed', `<p>You will not receive ${escapeHtml(whatOf(subject))} any more.</p>`));
    },
  );
};
