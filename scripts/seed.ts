import { loadConfig } from '../providers/service-configuration';
import { connectDatabase } from '../common/store/db';
import { seedDemoData } from './demo-data';

/** `npm run seed`: the demo users and template, against MONGODB_URL. */
async function main(): Promise<void> {
  const config = loadConfig();
  const database = await connectDatabase(config);
  await seedDemoData(database, config.service.userFields);
  await database.close();
  console.log('seeded demo users (cluster "demo") and template 64b000000000000000000001');
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exit(1);
});
