import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../../common/temporal/search-attributes';

/**
 * The dev-server launcher (scripts/local-stack.ts, used by `npm run dev`, the tests and the bench) registers every
 * declared search attribute with its type: a workflow that upserts one the server does not know fails its task.
 */
describe('the dev server started by the launcher', () => {
  it('has every declared search attribute registered with its type', async () => {
    const connection = await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS });
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      const registered = Object.fromEntries(
        Object.entries(customAttributes ?? {}).map(([name, type]) => [
          name,
          temporal.api.enums.v1.IndexedValueType[type].replace('INDEXED_VALUE_TYPE_', ''),
        ]),
      );
      for (const key of Object.values(SEARCH_ATTRIBUTES))
        expect([key.name, registered[key.name]]).toEqual([key.name, key.type]);
    } finally {
      await connection.close();
    }
  });
});
