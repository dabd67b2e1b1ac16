import { ObjectId } from 'mongodb';
import { nextPageCursor } from '../../common/store/deliveries-repository';
import { afterCursor, cursorOf, idCandidates, userIdToString } from '../../common/store/users-repository';

/** The cursors that page through the ledger (`GET /sends/:id/deliveries`, retries) and through an audience. */
describe('ledger page cursors', () => {
  const page = (...ids: string[]) => ids.map((_id) => ({ _id }));

  it('continue after the last key of a full page', () => {
    expect(nextPageCursor(page('s|sms|a', 's|sms|b'), 2)).toBe('s|sms|b');
  });

  it('end after a short page or an empty one', () => {
    expect(nextPageCursor(page('s|sms|a'), 2)).toBeNull();
    expect(nextPageCursor([], 2)).toBeNull();
  });
});

describe('audience cursors', () => {
  it('keep the BSON type of the last _id so that it can be rebuilt', () => {
    const id = new ObjectId();
    expect(cursorOf(id)).toEqual({ type: 'objectId', value: id.toHexString() });
    expect(cursorOf(42)).toEqual({ type: 'number', value: '42' });
    expect(cursorOf('user-7')).toEqual({ type: 'string', value: 'user-7' });
  });

  it('select everything without a cursor', () => {
    expect(afterCursor(null)).toEqual({});
  });

  it('resume after an ObjectId with the later ObjectIds only (ObjectIds sort last)', () => {
    const id = new ObjectId();
    expect(afterCursor(cursorOf(id))).toEqual({ $or: [{ _id: { $gt: id } }] });
  });

  it('resume after a number with the larger numbers, then every string and ObjectId (BSON order)', () => {
    expect(afterCursor(cursorOf(7))).toEqual({
      $or: [{ _id: { $gt: 7 } }, { _id: { $type: 'string' } }, { _id: { $type: 'objectId' } }],
    });
  });

  it('resume after a string with the later strings, then every ObjectId', () => {
    expect(afterCursor(cursorOf('m'))).toEqual({ $or: [{ _id: { $gt: 'm' } }, { _id: { $type: 'objectId' } }] });
  });
});

describe('user ids', () => {
  it('match a 24-hex id in both stored forms, any other id as it is', () => {
    const hex = new ObjectId().toHexString();
    expect(idCandidates([hex, 'plain'])).toEqual([hex, new ObjectId(hex), 'plain']);
  });

  it('travel as strings, ObjectIds in hex', () => {
    const id = new ObjectId();
    expect(userIdToString(id)).toBe(id.toHexString());
    expect(userIdToString(12)).toBe('12');
  });
});
