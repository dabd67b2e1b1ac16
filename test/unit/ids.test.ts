import {
  idempotentSendId,
  isSendId,
  newSendId,
  retrySendId,
  sagaSendId,
  scheduledSendWorkflowId,
} from '../../common/temporal/workflow-ids';
import { sagaKeySchema } from '../../api/schemas/saga-schemas';

describe('send ids (docs/operating-sends.md "Find a send in the Temporal UI")', () => {
  it.each([
    ['send-<uuid>', newSendId()],
    ['send-idem-<hash>', idempotentSendId('order-42 confirmation')],
    ['saga-<sagaId>', sagaSendId('order-42')],
    ['saga-<sagaId> with . : _ and -', sagaSendId('tenant.a:order_42-b')],
    ['saga-<sagaId> of 200 characters', sagaSendId('s'.repeat(200))],
    ['saga-<sagaId> with spaces, slashes and a query', sagaSendId('order 42/a?b=1#c%')],
    ['saga-<sagaId> with non-ASCII and an emoji', sagaSendId('ordine-è-✓-😀')],
    ['saga-<sagaId> with a newline', sagaSendId('order-42\n')],
    ['send-<uuid>-retry-<n>', retrySendId(newSendId(), 1)],
    ['send-idem-<hash>-retry-<n>', retrySendId(idempotentSendId('key'), 12)],
    ['saga-<sagaId>-retry-<n>', retrySendId(sagaSendId('order-42'), 3)],
    ['saga-<sagaId of 200 characters>-retry-<n>', retrySendId(sagaSendId('✓'.repeat(200)), 999)],
    ['sched-<scheduleId>-<firing time>', `${scheduledSendWorkflowId('daily_digest-1')}-2027-03-14T09:00:00Z`],
    ['sched-<scheduleId>-<firing time>-retry-<n>', `${scheduledSendWorkflowId('daily')}-2027-03-14T09:00:00Z-retry-2`],
  ])('isSendId accepts %s', (_form, id) => {
    expect(isSendId(id)).toBe(true);
  });

  const uuid = '0f8fad5b-d9cb-469f-a165-70867728950e';
  it.each([
    ['an empty string', ''],
    ["a schedule's workflow id without its firing time", scheduledSendWorkflowId('daily')],
    ['a schedule id with a slash', 'sched-a/b-2027-03-14T09:00:00Z'],
    ['another prefix', `message-${uuid}`],
    ['a short uuid', `send-${uuid.slice(1)}`],
    ['an upper-case uuid', `send-${uuid.toUpperCase()}`],
    ['a uuid with a letter beyond f', `send-${uuid.replace('d', 'g')}`],
    ['a hash of 31 characters', `send-idem-${'a'.repeat(31)}`],
    ['a hash of 33 characters', `send-idem-${'a'.repeat(33)}`],
    ['an upper-case hash', `send-idem-${'A'.repeat(32)}`],
    ['an empty saga id', 'saga-'],
    ['a saga id of 201 characters', `saga-${'s'.repeat(201)}`],
    ['a saga id with a lone surrogate', 'saga-order-\ud800'],
    ['a retry without a number', `send-${uuid}-retry-`],
    ['a retry with a word', `send-${uuid}-retry-one`],
    ['a retry of nothing', '-retry-1'],
  ])('isSendId rejects %s', (_case, id) => {
    expect(isSendId(id)).toBe(false);
  });

  // docs/operating-sends.md "Saga sends": every key /saga/send accepts names a send that GET /sends/:sendId and its
  // retry accept.
  it.each([
    ['order-42'],
    ['tenant.a:order_42-b'],
    ['order 42'],
    ['a/b?c#d%e&f'],
    ['ключ ✓ 😀'],
    ['line\nbreak\ttab'],
    ['k'.repeat(200)],
  ])('the saga key %j gives a send id, and ids of its retries', (key) => {
    expect(sagaKeySchema.safeParse(key).success).toBe(true);
    expect(isSendId(sagaSendId(key))).toBe(true);
    expect(isSendId(retrySendId(sagaSendId(key), 7))).toBe(true);
  });

  it.each([
    ['an empty key', ''],
    ['201 characters', 'k'.repeat(201)],
    ['a lone surrogate', 'a\ud800b'],
    ['a key that reads as a retry of another saga', 'order-42-retry-1'],
  ])('the saga key schema refuses %s', (_case, key) => {
    expect(sagaKeySchema.safeParse(key).success).toBe(false);
  });

  it('newSendId is a fresh send-<uuid> each time', () => {
    const first = newSendId();
    expect(first).toMatch(/^send-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(newSendId()).not.toBe(first);
  });

  it('idempotentSendId is the first 32 hex digits of the key’s SHA-256, the same in every process', () => {
    // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
    expect(idempotentSendId('abc')).toBe('send-idem-ba7816bf8f01cfea414140de5dae2223');
    expect(idempotentSendId('abc')).toBe(idempotentSendId('abc'));
  });

  it.each([
    ['an empty key', ''],
    ['spaces and slashes', 'a key with spaces / slashes'],
    ['non-ASCII', 'ключ ✓'],
    ['10 000 characters', 'k'.repeat(10_000)],
  ])('idempotentSendId of %s is send-idem- and 32 hex digits', (_case, key) => {
    expect(idempotentSendId(key)).toMatch(/^send-idem-[0-9a-f]{32}$/);
  });

  it('idempotentSendId tells keys apart, including keys that differ only in case or spacing', () => {
    const keys = ['order-42', 'Order-42', 'order-42 ', 'order-43'];
    expect(new Set(keys.map(idempotentSendId)).size).toBe(keys.length);
  });
});
