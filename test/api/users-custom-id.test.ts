import { startTestStack, type TestStack } from '../support/test-stack';

/**
 * With `userFields.id` set to a field of the product team's own (docs/configuration.md), that field is unique: a
 * unique index, so two creates with one id cannot both succeed (a user stored twice would be sent to twice).
 */
describe('users with an id field of their own', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ worker: false, service: { userFields: { id: 'userId' } } });
  });
  afterAll(() => stack.close());

  const create = (userId: string, name: string) =>
    stack.app.inject({ method: 'POST', url: '/users', payload: { userId, name, clusters: ['a'] } });

  it('answers 409 to the second of two concurrent creates with the same id, and stores one user', async () => {
    // Users written by other means without the field stay allowed (the index leaves them out).
    await stack.database.users.insertMany([{ name: 'NoId1' }, { name: 'NoId2' }]);

    const answers = await Promise.all(Array.from({ length: 4 }, (_, index) => create('u-1', `Twin${index}`)));

    expect(answers.map((answer) => answer.statusCode).sort()).toEqual([201, 409, 409, 409]);
    const refused = answers.find((answer) => answer.statusCode === 409)!.json();
    expect(refused).toMatchObject({ statusCode: 409, error: 'Conflict' });
    expect(refused.message).toMatch(/^userId: /);
    expect(await stack.database.users.countDocuments({ userId: 'u-1' })).toBe(1);
    expect((await create('u-2', 'Other')).statusCode).toBe(201);
  });

  it('keeps the id field unique under a unique index', async () => {
    const indexes = await stack.database.users.indexes();
    expect(indexes.find((index) => index.name === 'unique_user_id')).toMatchObject({
      key: { userId: 1 },
      unique: true,
    });
  });
});
