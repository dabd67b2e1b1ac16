import fp from 'fastify-plugin';
import { connectDatabase, type Database } from '../../common/store/db';
import { Ledger } from '../../common/store/ledger';
import { NotificationsRepository } from '../../common/store/notifications-repository';
import { ProvidersRepository } from '../../common/store/providers-repository';
import { SendsRepository } from '../../common/store/sends-repository';
import { TemplatesRepository } from '../../common/store/templates-repository';
import { UsersRepository } from '../../common/store/users-repository';

/** The data access the API shares with the worker (common/): one of each per app. */
export interface Repositories {
  sends: SendsRepository;
  templates: TemplatesRepository;
  users: UsersRepository;
  ledger: Ledger;
  notifications: NotificationsRepository;
  providers: ProvidersRepository;
}

declare module 'fastify' {
  interface FastifyInstance {
    database: Database;
    repositories: Repositories;
  }
}

export interface DatabasePluginOptions {
  /** A connected database: the app uses it and leaves it open. Without one it connects, and closes on close. */
  database?: Database;
}

/** MongoDB (or FerretDB) and the repositories over it. */
export const databasePlugin = fp<DatabasePluginOptions>(
  async (app, options) => {
    const database = options.database ?? (await connectDatabase(app.config));
    if (!options.database) app.addHook('onClose', () => database.close());
    app.decorate('database', database);
    app.decorate('repositories', {
      sends: new SendsRepository(database),
      templates: new TemplatesRepository(database),
      users: new UsersRepository(database, app.config.service.userFields),
      ledger: new Ledger(database),
      notifications: new NotificationsRepository(database),
      providers: new ProvidersRepository(database),
    });
  },
  { name: 'database', dependencies: ['config'] },
);
