import { requestDigest } from '../../api/services/request-digest';
import type { SendBody } from '../../api/schemas/send-schemas';

describe('requestDigest: one digest per send asked for (docs/api.md, Idempotency-Key)', () => {
  const body: SendBody = {
    channels: ['sms', 'email'],
    recipients: ['u1', 'u2'],
    messageTitle: 'T',
    messageContent: 'C',
    data: { order: { id: 42, lines: [1, 2] }, when: 'today' },
  };

  it.each<[string, SendBody]>([
    [
      'keys in another order',
      { data: body.data, messageContent: 'C', messageTitle: 'T', recipients: ['u1', 'u2'], channels: ['sms', 'email'] },
    ],
    ['nested keys in another order', { ...body, data: { when: 'today', order: { lines: [1, 2], id: 42 } } }],
    [
      'list fields in another order, with repeats',
      { ...body, channels: ['email', 'sms', 'sms'], recipients: ['u2', 'u1'] },
    ],
    ['empty lists and data spelt out', { ...body, clusters: [], emailAttachments: [] }],
  ])('is the same for %s', (_case, same) => {
    expect(requestDigest(same)).toBe(requestDigest(body));
  });

  it('treats a missing data as an empty one', () => {
    const { data: _data, ...withoutData } = body;
    expect(requestDigest(withoutData)).toBe(requestDigest({ ...withoutData, data: {} }));
  });

  it.each<[string, SendBody]>([
    ['another recipient', { ...body, recipients: ['u1', 'u3'] }],
    ['another content', { ...body, messageContent: 'C!' }],
    ['another channel', { ...body, channels: ['sms'] }],
    ['data in another order inside an array', { ...body, data: { ...body.data, order: { id: 42, lines: [2, 1] } } }],
    ['a number as a string', { ...body, data: { ...body.data, when: 1 } }],
  ])('differs for %s', (_case, other) => {
    expect(requestDigest(other)).not.toBe(requestDigest(body));
  });
});
