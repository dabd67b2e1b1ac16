import { ObjectId } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { buildApp } from '../../api/app';
import { nextWallClockTime } from '../../common/domain/digest-schedule';
import { digestId } from '../../common/temporal/workflow-ids';
import { insertUsers, person, simMessages, waitFor } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Digests on the real dev server with seconds-long windows (docs/digests.md). */
describe('digests', () => {
  let stack: TestStack;
  const templateId = new ObjectId();

  beforeAll(async () => {
    stack = await startTestStack();
    await stack.database.templates.insertOne({
      _id: templateId,
      name: 'comments',
      smsMessage: '{{data.eventCount}} new:{{#each data.events}} {{this.data.text}}{{/each}}',
      emailTitle: '{{data.eventCount}} new comments',
      emailMessage: '{{#each data.events}}<p>{{this.data.text}}</p>{{/each}}',
    });
  });
  afterAll(() => stack.close());

  const post = (body: Record<string, unknown>) => stack.app.inject({ method: 'POST', url: '/events', payload: body });
  const event = (userId: string, digestKey: string, text: string, digest: Record<string, unknown>, extra = {}) => ({
    userId,
    digestKey,
    channels: ['sms'],
    templateId: templateId.toHexString(),
    data: { text },
    digest,
    ...extra,
  });
  /** The sms the simulator took for this user's phone number. */
  const smsTo = async (phoneNumber: string) =>
    (await simMessages(stack, 'channel=sms')).filter((message) => message.to === phoneNumber).map((m) => m.body ?? '');
  const newUser = async (name: string) => {
    const user = person(name);
    const [id] = await insertUsers(stack, [user]);
    return { id, phone: user.phoneNumber };
  };

  it("erases a user's digests and the events for them with the user, and only takes them out of shared events", async () => {
    const erased = await newUser('ErasedDigest');
    const other = await newUser('KeptDigest');
    const alone = event(erased.id, 'erasure', 'mine', { window: 'PT1H' });
    expect((await post(alone)).statusCode).toBe(202);
    const { userId: _userId, ...shared } = event(erased.id, 'erasure', 'ours', { window: 'PT1H' });
    const sharedAnswer = await post({ ...shared, recipients: [erased.id, other.id] });
    expect(sharedAnswer.statusCode).toBe(202);

    const response = await stack.app.inject({ method: 'POST', url: '/erasures', payload: { userId: erased.id } });
    expect(response.statusCode).toBe(200);
    expect(response.json().touched).toMatchObject({ digests: 1, digestEvents: 2 });
    expect(await stack.database.digests.countDocuments({ userId: erased.id })).toBe(0);
    expect(await stack.database.digestEvents.countDocuments({ userIds: erased.id })).toBe(0);
    expect(await stack.database.digestEvents.findOne({ _id: sharedAnswer.json().eventId })).toMatchObject({
      userIds: [other.id],
    });
    for (const user of [erased.id, other.id])
      await stack.temporal.workflow
        .getHandle(digestId(user, 'erasure'))
        .terminate('test cleanup')
        .catch(() => undefined);
  });

  it('sends three events within two seconds as one message listing them in order, and records the flush', async () => {
    const { id, phone } = await newUser('Three');
    const answers = [];
    for (const text of ['one', 'two', 'three']) {
      const response = await post(event(id, 'comments', text, { window: 'PT2S' }));
      expect(response.statusCode).toBe(202);
      answers.push(response.json());
      await sleep(300);
    }
    const digest = digestId(id, 'comments');
    expect(answers.map((answer) => answer.digests[0].digestId)).toEqual([digest, digest, digest]);
    const flushAt = answers[0].digests[0].flushAt;
    expect(Date.parse(flushAt) - Date.parse(answers[0].digests[0].flushAt)).toBe(0);
    expect(Date.parse(flushAt)).toBeGreaterThan(Date.now() - 2000);
    expect(answers.map((answer) => answer.digests[0].flushAt)).toEqual([flushAt, flushAt, flushAt]);

    const [body] = await waitFor(async () => {
      const found = await smsTo(phone);
      return found.length > 0 ? found : undefined;
    });
    expect(body).toBe('3 new: one two three');
    await sleep(2500);
    expect(await smsTo(phone)).toHaveLength(1);

    const read = await stack.app.inject({ method: 'GET', url: `/digests/${digest}` });
    expect(read.statusCode).toBe(200);
    const detail = read.json();
    expect(detail).toMatchObject({
      digestId: digest,
      userId: id,
      digestKey: 'comments',
      status: 'idle',
      flushCount: 1,
    });
    expect(detail.pendingEvents).toEqual([]);
    expect(detail.flushes).toHaveLength(1);
    expect(detail.flushes[0].eventIds).toEqual(answers.map((answer) => answer.eventId));
    const send = await stack.app.inject({ method: 'GET', url: `/sends/${detail.flushes[0].sendId}` });
    expect(send.statusCode).toBe(200);
    expect(send.json()).toMatchObject({ kind: 'digest', status: 'completed' });

    const listed = await stack.app.inject({ method: 'GET', url: `/digests?userId=${id}&digestKey=comments` });
    expect(listed.json().digests.map((d: { digestId: string }) => d.digestId)).toEqual([digest]);
  });

  it("follows the docs' walkthrough: five events, one email listing them in the order they came", async () => {
    const user = person('Walk');
    const [id] = await insertUsers(stack, [user]);
    const texts = ['Nice photo', 'Where was this?', 'Love it', 'Again!', 'Share it'];
    for (const text of texts) {
      const response = await post({
        userId: id,
        digestKey: 'comments',
        channels: ['email'],
        messageTitle: '{{data.eventCount}} new comments',
        messageContent: '{{#each data.events}}<p>{{this.time}}: {{this.data.text}}</p>{{/each}}',
        data: { text },
        digest: { window: 'PT3S' },
      });
      expect(response.statusCode).toBe(202);
    }
    const [email] = await waitFor(async () => {
      const found = (await simMessages(stack, 'channel=email')).filter((m) => m.to === user.emailAddress);
      return found.length > 0 ? found : undefined;
    });
    expect(email.subject).toBe('5 new comments');
    const content = email.html ?? email.text ?? '';
    const positions = texts.map((text) => content.indexOf(text));
    expect(positions.every((position) => position >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('gathers a concurrent burst of 50 events into one digest of 50', async () => {
    const { id, phone } = await newUser('Burst');
    const texts = Array.from({ length: 50 }, (_, index) => `e${index}`);
    const responses = await Promise.all(texts.map((text) => post(event(id, 'burst', text, { window: 'PT2S' }))));
    expect(responses.map((response) => response.statusCode)).toEqual(texts.map(() => 202));
    const [body] = await waitFor(async () => {
      const found = await smsTo(phone);
      return found.length > 0 ? found : undefined;
    });
    expect(body.startsWith('50 new:')).toBe(true);
    expect(body.split(' ').slice(2).sort()).toEqual([...texts].sort());
    await sleep(2500);
    expect(await smsTo(phone)).toHaveLength(1);
  });

  it('answers a repeated eventId with the first answer, even concurrently, and refuses it with another body', async () => {
    const { id, phone } = await newUser('Repeat');
    const body = event(id, 'repeat', 'once', { window: 'PT1S' }, { eventId: `evt-${randomUUID()}` });
    const answers = await Promise.all([post(body), post(body), post(body)]);
    expect(answers.map((answer) => answer.statusCode)).toEqual([202, 202, 202]);
    const [first, ...rest] = answers.map((answer) => answer.json());
    for (const answer of rest) expect(answer).toEqual(first);
    expect((await post(body)).json()).toEqual(first);

    const other = await post({ ...body, data: { text: 'other' } });
    expect(other.statusCode).toBe(422);
    expect(other.json().message).toMatch(/^eventId: /);

    await waitFor(async () => ((await smsTo(phone)).length > 0 ? true : undefined));
    await sleep(1500);
    expect(await smsTo(phone)).toEqual(['1 new: once']);
  });

  it('under a look-back sends the first event at once and digests the rest', async () => {
    const { id, phone } = await newUser('LookBack');
    // A window long enough that "at once" cannot be mistaken for a flush at its end on a busy machine.
    const rule = { lookBack: 'PT30S', window: 'PT6S' };
    const started = Date.now();
    expect((await post(event(id, 'look', 'first', rule))).statusCode).toBe(202);
    await waitFor(async () => ((await smsTo(phone)).length > 0 ? true : undefined));
    expect(Date.now() - started).toBeLessThan(5000);
    for (const text of ['second', 'third']) expect((await post(event(id, 'look', text, rule))).statusCode).toBe(202);
    const bodies = await waitFor(async () => {
      const found = await smsTo(phone);
      return found.length > 1 ? found : undefined;
    });
    expect(bodies).toEqual(['1 new: first', '2 new: second third']);
  });

  it('flushes at once on the maxEvents-th event', async () => {
    const { id, phone } = await newUser('MaxEvents');
    const rule = { window: 'PT1M', maxEvents: 3 };
    for (const text of ['a', 'b', 'c', 'd']) expect((await post(event(id, 'max', text, rule))).statusCode).toBe(202);
    const [body] = await waitFor(async () => {
      const found = await smsTo(phone);
      return found.length > 0 ? found : undefined;
    });
    expect(body).toBe('3 new: a b c');
    const read = (await stack.app.inject({ method: 'GET', url: `/digests/${digestId(id, 'max')}` })).json();
    expect(read.status).toBe('waiting');
    expect(read.pendingEvents.map((pending: { data: unknown }) => pending.data)).toEqual([{ text: 'd' }]);

    // Sent now by hand; then nothing is pending, and a second flush is refused.
    const flushed = await stack.app.inject({ method: 'POST', url: `/digests/${digestId(id, 'max')}/flush` });
    expect(flushed.statusCode).toBe(202);
    expect(flushed.json()).toEqual({ digestId: digestId(id, 'max'), pendingEvents: 1 });
    await waitFor(async () => ((await smsTo(phone)).length > 1 ? true : undefined));
    expect(await smsTo(phone)).toEqual(['3 new: a b c', '1 new: d']);
    const again = await stack.app.inject({ method: 'POST', url: `/digests/${digestId(id, 'max')}/flush` });
    expect(again.statusCode).toBe(409);
  });

  it("lets events join a waiting batch through the store: flushed with it once, kept when the batch's first is removed, carried over past maxEvents", async () => {
    const { id, phone } = await newUser('Inbox');
    const digest = digestId(id, 'inbox');
    const storedDigest = () => stack.database.digests.findOne({ _id: digest });
    const waitingEnd = () =>
      waitFor(async () => {
        const stored = await storedDigest();
        return stored?.status === 'waiting' && stored.joinable && stored.flushAt ? stored.flushAt : undefined;
      });
    const rule = { window: 'PT5S' };
    const first = (await post(event(id, 'inbox', 'a', rule))).json();
    const flushAt = await waitingEnd();
    const joined = [];
    for (const text of ['b', 'c', 'd']) joined.push((await post(event(id, 'inbox', text, rule))).json());
    // They joined through the store, not by a signal: the inbox holds them and each answer is the batch's end.
    expect((await storedDigest())!.inbox!.map((entry) => entry.eventId)).toEqual(
      joined.map((answer) => answer.eventId),
    );
    expect(joined.map((answer) => Date.parse(answer.digests[0].flushAt))).toEqual(
      [1, 2, 3].map(() => flushAt.getTime()),
    );
    const pending = (await stack.app.inject({ method: 'GET', url: `/digests/${digest}` })).json().pendingEvents;
    expect(pending.map((event: { data: { text: string } }) => event.data.text)).toEqual(['a', 'b', 'c', 'd']);
    // The batch's only signalled event goes: the workflow holds none, takes the inbox's back and keeps the end.
    expect((await stack.app.inject({ method: 'DELETE', url: `/events/${first.eventId}` })).statusCode).toBe(200);
    const [body] = await waitFor(async () => {
      const found = await smsTo(phone);
      return found.length > 0 ? found : undefined;
    });
    expect(body).toBe('3 new: b c d');
    expect(Date.now()).toBeGreaterThanOrEqual(flushAt.getTime() - 50);
    await sleep(1500);
    expect(await smsTo(phone)).toHaveLength(1);
    expect(await storedDigest()).toMatchObject({ status: 'idle', inbox: [] });

    // maxEvents 3: the third event, joined through the store, flushes at once; the fourth is carried over.
    const max = { window: 'PT1M', maxEvents: 3 };
    await post(event(id, 'inbox-max', 'w', max));
    const maxDigest = digestId(id, 'inbox-max');
    await waitFor(async () =>
      (await stack.database.digests.findOne({ _id: maxDigest }))?.joinable ? true : undefined,
    );
    const started = Date.now();
    for (const text of ['x', 'y', 'z']) expect((await post(event(id, 'inbox-max', text, max))).statusCode).toBe(202);
    await waitFor(async () => ((await smsTo(phone)).length > 1 ? true : undefined));
    expect(Date.now() - started).toBeLessThan(30_000);
    expect((await smsTo(phone))[1]).toBe('3 new: w x y');
    const carried = await waitFor(async () => {
      const read = (await stack.app.inject({ method: 'GET', url: `/digests/${maxDigest}` })).json();
      return read.pendingEvents.length > 0 ? read : undefined;
    });
    expect(carried.status).toBe('waiting');
    expect(carried.pendingEvents.map((event: { data: { text: string } }) => event.data.text)).toEqual(['z']);
    await stack.temporal.workflow.getHandle(maxDigest).terminate('test cleanup');

    // Dropped whole: the inbox's events are dropped with the workflow's, and nothing is sent.
    await post(event(id, 'inbox-drop', 'p', { window: 'PT3S' }));
    const dropDigest = digestId(id, 'inbox-drop');
    await waitFor(async () =>
      (await stack.database.digests.findOne({ _id: dropDigest }))?.joinable ? true : undefined,
    );
    const joinedDrop = (await post(event(id, 'inbox-drop', 'q', { window: 'PT3S' }))).json().eventId;
    const dropped = await stack.app.inject({ method: 'DELETE', url: `/digests/${dropDigest}` });
    expect(dropped.json()).toEqual({ digestId: dropDigest, pendingEvents: 2 });
    await waitFor(async () =>
      (await stack.database.digests.findOne({ _id: dropDigest }))?.status === 'discarded' ? true : undefined,
    );
    expect((await stack.database.digestEvents.findOne({ _id: joinedDrop }))?.discardedIn).toEqual({
      [dropDigest]: true,
    });
    await sleep(3500);
    expect(await smsTo(phone)).toHaveLength(2);
  });

  it('stops a sliding window at maxWindow while events keep coming', async () => {
    const { id, phone } = await newUser('Sliding');
    const rule = { window: 'PT1S', sliding: true, maxWindow: 'PT3S' };
    const started = Date.now();
    let firstSeenAt: number | undefined;
    // 16 events 500 ms apart: a window that only slid would end 1 s after the last (9 s or more), maxWindow at 3 s.
    for (let index = 0; index < 16; index++) {
      expect((await post(event(id, 'slide', `s${index}`, rule))).statusCode).toBe(202);
      await sleep(500);
      if (firstSeenAt === undefined && (await smsTo(phone)).length > 0) firstSeenAt = Date.now();
    }
    // Each event came within the window of the last, so only maxWindow ended the first digest.
    expect(firstSeenAt).toBeDefined();
    expect(firstSeenAt! - started).toBeGreaterThanOrEqual(3000);
    expect(firstSeenAt! - started).toBeLessThan(7500);
    const bodies = await waitFor(async () => {
      const found = await smsTo(phone);
      const count = found.reduce((sum, body) => sum + Number(body.split(' ')[0]), 0);
      return count === 16 ? found : undefined;
    });
    expect(bodies.length).toBeGreaterThanOrEqual(2);
    expect(bodies.join(' ').match(/s\d+/g)).toEqual(Array.from({ length: 16 }, (_, index) => `s${index}`));
  });

  it('removes a pending event and sends the other two; an emptied or dropped digest sends nothing', async () => {
    const { id, phone } = await newUser('Remove');
    const rule = { window: 'PT2S' };
    const ids = [];
    for (const text of ['first', 'second', 'third'])
      ids.push((await post(event(id, 'remove', text, rule))).json().eventId);
    const removed = await stack.app.inject({ method: 'DELETE', url: `/events/${ids[0]}` });
    expect(removed.statusCode).toBe(200);
    expect(removed.json()).toEqual({ eventId: ids[0], removedFrom: [digestId(id, 'remove')] });
    const [body] = await waitFor(async () => {
      const found = await smsTo(phone);
      return found.length > 0 ? found : undefined;
    });
    expect(body).toBe('2 new: second third');

    const emptied = (await post(event(id, 'emptied', 'gone', rule))).json().eventId;
    expect((await stack.app.inject({ method: 'DELETE', url: `/events/${emptied}` })).statusCode).toBe(200);
    await post(event(id, 'dropped', 'dropped', rule));
    const dropped = await stack.app.inject({ method: 'DELETE', url: `/digests/${digestId(id, 'dropped')}` });
    expect(dropped.json()).toEqual({ digestId: digestId(id, 'dropped'), pendingEvents: 1 });
    await sleep(3500);
    expect(await smsTo(phone)).toEqual(['2 new: second third']);
    const statuses = await stack.app.inject({ method: 'GET', url: `/digests?userId=${id}` });
    const byKey = Object.fromEntries(
      statuses.json().digests.map((d: { digestKey: string; status: string }) => [d.digestKey, d.status]),
    );
    expect(byKey).toEqual({ remove: 'idle', emptied: 'idle', dropped: 'discarded' });
    expect((await stack.app.inject({ method: 'DELETE', url: '/events/evt-nothing' })).statusCode).toBe(404);
  });

  it("schedules an at-digest at the next such time of the user's time zone", async () => {
    const user = person('Tokyo', { timezone: 'Asia/Tokyo' });
    const [id] = await insertUsers(stack, [user]);
    const at = { hour: 7, minute: 30 };
    const before = new Date();
    const response = await post(event(id, 'daily', 'news', { at }));
    expect(response.statusCode).toBe(202);
    const flushAt = new Date(response.json().digests[0].flushAt);
    expect(flushAt).toEqual(nextWallClockTime(before, at, 'Asia/Tokyo'));
    expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Tokyo', timeStyle: 'short' }).format(flushAt)).toBe(
      '07:30',
    );
    const digest = digestId(id, 'daily');
    await waitFor(async () => {
      const read = await stack.app.inject({ method: 'GET', url: `/digests/${digest}` });
      return read.statusCode === 200 && read.json().status === 'waiting' ? true : undefined;
    });
    // Nothing sent before its time; dropped, so that the test leaves no timer behind.
    expect(await smsTo(user.phoneNumber)).toEqual([]);
    expect((await stack.app.inject({ method: 'DELETE', url: `/digests/${digestId(id, 'daily')}` })).statusCode).toBe(
      200,
    );
  });

  it("schedules an at-digest of a user without a time zone in the configuration's defaultTimezone, as quiet hours", async () => {
    const [id] = await insertUsers(stack, [person('Nowhere')]);
    const app = await buildApp({
      config: { ...stack.config, service: { ...stack.config.service, defaultTimezone: 'Asia/Tokyo' } },
      database: stack.database,
      temporal: stack.temporal,
      logger: false,
    });
    try {
      const at = { hour: 9, minute: 0 };
      const before = new Date();
      const response = await app.inject({
        method: 'POST',
        url: '/events',
        payload: event(id, 'daily', 'news', { at }),
      });
      expect(response.statusCode).toBe(202);
      const flushAt = new Date(response.json().digests[0].flushAt);
      expect(flushAt).toEqual(nextWallClockTime(before, at, 'Asia/Tokyo'));
      expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Tokyo', timeStyle: 'short' }).format(flushAt)).toBe(
        '09:00',
      );
      // Dropped, so that the test leaves no timer behind.
      expect((await app.inject({ method: 'DELETE', url: `/digests/${digestId(id, 'daily')}` })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it.each([
    [{ digest: { window: 'PT0S' } }, 400, /^body\.digest\.window|digest\.window/],
    [{ digest: { window: 'P1M' } }, 400, /digest\.window/],
    [{ digest: { window: 'PT10M', sliding: true, maxWindow: 'PT5M' } }, 400, /digest\.maxWindow.*shorter/],
    [{ digest: { window: 'PT10M', sliding: true } }, 400, /digest\.maxWindow/],
    [{ digest: { window: 'PT1M', maxEvents: 1001 } }, 400, /digest\.maxEvents/],
    [{ digest: { at: { hour: 24, minute: 0 } } }, 400, /digest\.at\.hour/],
    [{ digest: { at: { hour: 9, minute: 0 }, window: 'PT1H' } }, 400, /digest\.window/],
    [{ templateId: new ObjectId().toHexString() }, 404, /^templateId: /],
    [{ userId: 'nobody-at-all' }, 404, /^userId: /],
    [{ userId: undefined }, 400, /userId/],
  ])('refuses %j with %i naming the field, recording nothing', async (change, status, message) => {
    const { id } = await newUser('Bad');
    const before = await stack.database.digestEvents.countDocuments();
    const response = await post({ ...event(id, 'bad', 'x', { window: 'PT1M' }), ...change });
    expect(response.statusCode).toBe(status);
    expect(response.json().message).toMatch(message);
    expect(await stack.database.digestEvents.countDocuments()).toBe(before);
  });
});
