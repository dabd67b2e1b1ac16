import {
  classifyAnswerText,
  normalizeAnswer,
  regexProblem,
  REGEX_TIME_LIMIT_MS,
} from '../../common/domain/conversation-answers';
import { mediaExtensionProblem, mediaHeadersProblem } from '../../api/services/messaging/whatsapp-media';

const webhook = { url: 'https://example.com/hook', secret: 's' };
/** The OS1 send2WayMessage: "1" or "order received", else a 6-digit code. */
const seedRequest = {
  acceptedResponses: [
    { messages: ['1', 'order received'], webhook },
    { messages: ['2', 'Not Received'], webhook },
  ],
  dynamicResponseRegex: '^\\d{6}$',
};

describe('answer classification (docs/whatsapp.md)', () => {
  it('matches accepted responses whatever the case and the whitespace, naming the entry', () => {
    expect(normalizeAnswer('  Order \n  RECEIVED\t')).toBe('order received');
    expect(classifyAnswerText(seedRequest, ' Order  Received ')).toEqual({
      classification: 'accepted',
      acceptedResponse: 0,
    });
    expect(classifyAnswerText(seedRequest, 'not received')).toEqual({
      classification: 'accepted',
      acceptedResponse: 1,
    });
    expect(classifyAnswerText(seedRequest, '1')).toEqual({ classification: 'accepted', acceptedResponse: 0 });
  });

  it('prefers an accepted response to the regex, and matches the regex on the trimmed text', () => {
    const both = { ...seedRequest, dynamicResponseRegex: '^\\d+$' };
    expect(classifyAnswerText(both, '2')).toEqual({ classification: 'accepted', acceptedResponse: 1 });
    expect(classifyAnswerText(seedRequest, ' 123456 ')).toEqual({ classification: 'regex' });
  });

  it('calls anything else invalid: a near miss, a 5-digit code, part of an accepted response, no regex', () => {
    for (const text of ['order receivedd', '12345', 'order', '']) {
      expect([text, classifyAnswerText(seedRequest, text)]).toEqual([text, { classification: 'invalid' }]);
    }
    expect(classifyAnswerText({ acceptedResponses: seedRequest.acceptedResponses }, '123456')).toEqual({
      classification: 'invalid',
    });
  });

  it('stops a regex that backtracks catastrophically on an answer, and calls the answer invalid', () => {
    const started = Date.now();
    const classified = classifyAnswerText(
      { acceptedResponses: [], dynamicResponseRegex: '^(a+)+$' },
      `${'a'.repeat(40)}!`,
    );
    expect(classified).toEqual({ classification: 'invalid', regexTimedOut: true });
    expect(Date.now() - started).toBeLessThan(3 * 2 * REGEX_TIME_LIMIT_MS);
  });
});

describe('dynamicResponseRegex checked at request time', () => {
  it('accepts ordinary expressions: the seed one, alternatives, classes, anchors', () => {
    for (const source of ['^\\d{6}$', '^(yes|no)$', '^[A-Z]{2}\\d{4}$', 'cancel', '^\\s*\\w+@\\w+\\.com\\s*$']) {
      expect([source, regexProblem(source)]).toEqual([source, null]);
    }
  });

  it('refuses what does not compile, naming why', () => {
    expect(regexProblem('^(\\d{6}$')).toMatch(/not a valid regular expression/);
    expect(regexProblem('[z-a]')).toMatch(/not a valid regular expression/);
  });

  it('refuses expressions that backtrack catastrophically on the probes, in bounded time', () => {
    for (const source of ['^(a+)+$', '^(\\d+)+$', '(x+x+)+y', '^(\\w|\\w)*$', '^(.*a){12}$', '^(\\s*,?\\s*)*$']) {
      const started = Date.now();
      expect([source, regexProblem(source)]).toEqual([source, expect.stringMatching(/catastrophic backtracking/)]);
      expect(Date.now() - started).toBeLessThan(3 * 2 * REGEX_TIME_LIMIT_MS);
    }
  });

  it('refuses an expression longer than the limit', () => {
    expect(regexProblem('a'.repeat(501))).toMatch(/at most 500 characters/);
  });
});

describe('media of a two-way message (the OS1 limits: jpg, jpeg, png ≤ 5 MB; pdf, doc, docx ≤ 100 MB)', () => {
  it("takes the allowed extensions, in any case, ignoring the URL's query", () => {
    for (const url of ['https://e.com/a.jpg', 'https://e.com/b.JPEG', 'https://e.com/c.png?size=2']) {
      expect([url, mediaExtensionProblem('image', url)]).toEqual([url, null]);
    }
    for (const url of ['https://e.com/a.pdf', 'https://e.com/d/b.doc', 'https://e.com/c.DOCX#page=2']) {
      expect([url, mediaExtensionProblem('document', url)]).toEqual([url, null]);
    }
  });

  it('refuses other types, and a document as an image', () => {
    expect(mediaExtensionProblem('image', 'https://e.com/a.gif')).toMatch(/must be jpg, jpeg, png.*\.gif/);
    expect(mediaExtensionProblem('image', 'https://e.com/a.pdf')).toMatch(/must be jpg, jpeg, png/);
    expect(mediaExtensionProblem('document', 'https://e.com/a.xlsx')).toMatch(/must be pdf, doc, docx/);
    expect(mediaExtensionProblem('document', 'https://e.com/download')).toMatch(/without an extension/);
  });

  it("checks what a HEAD answered: the content type, and the size against the kind's limit", () => {
    const MB = 1024 * 1024;
    expect(mediaHeadersProblem('image', { 'content-type': 'image/png', 'content-length': String(5 * MB) })).toBeNull();
    expect(
      mediaHeadersProblem('image', { 'content-type': 'image/jpeg', 'content-length': String(5 * MB + 1) }),
    ).toMatch(/5 MB at most/);
    expect(mediaHeadersProblem('image', { 'content-type': 'image/gif' })).toMatch(/serves image\/gif/);
    expect(mediaHeadersProblem('document', { 'content-type': 'application/pdf; charset=binary' })).toBeNull();
    expect(mediaHeadersProblem('document', { 'content-length': String(101 * MB) })).toMatch(/100 MB at most/);
    // Nothing said, or a generic type: left to the extension.
    expect(mediaHeadersProblem('document', {})).toBeNull();
    expect(mediaHeadersProblem('image', { 'content-type': 'application/octet-stream' })).toBeNull();
  });
});
