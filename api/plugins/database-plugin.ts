import fp from 'fastify-plugin';
import { connectDatabase, type Database } from '../../common/store/db';
import { DeliveriesRepository } from '../../common/store/deliveries-repository';
import { DigestsRepository } from '../../common/store/digests-repository';
import { CallbackEventsRepository } from '../../common/store/messaging/callback-events-repository';
import { ConversationsRepository } from '../../common/store/messaging/conversations-repository';
import { DeliveryReportsRepository } from '../../common/store/messaging/delivery-reports-repository';
import { InboundMessagesRepository } from '../../common/store/messaging/inbound-messages-repository';
import { MessageRequestsRepository } from '../../common/store/messaging/message-requests-repository';
import { NotificationsRepository } from '../../common/store/notifications-repository';
import { PlaceholdersRepository } from '../../common/store/placeholders-repository';
import { PreferencesRepository } from '../../common/store/preferences-repository';
import { SuppressionsRepository } from '../../common/store/suppressions-repository';
import { ProvidersRepository } from '../../common/store/providers-repository';
import { SagaFailEventsRepository } from '../../common/store/saga-fail-events-repository';
import { SendCancellationsRepository } from '../../common/store/send-cancellations-repository';
import { SendSchedulesRepository } from '../../common/store/send-schedules-repository';
import { SendsRepository } from '../../common/store/sends-repository';
import { TemplatesRepository } from '../../common/store/templates-repository';
import { UsersRepository } from '../../common/store/users-repository';

/** The data access of the API (common/store): one repository per collection, one of each per app. */
export interface Repositories {
  sends: SendsRepository;
  templates: TemplatesRepository;
  users: UsersRepository;
  ledger: DeliveriesRepository;
  notifications: NotificationsRepository;
  placeholders: PlaceholdersRepository;
  preferences: PreferencesRepository;
  suppressions: SuppressionsRepository;
  providers: ProvidersRepository;
  messageRequests: MessageRequestsRepository;
  callbackEvents: CallbackEventsRepository;
  deliveryReports: DeliveryReportsRepository;
  conversations: ConversationsRepository;
  inboundMessages: InboundMessagesRepository;
  sagaFailEvents: SagaFailEventsRepository;
  digests: DigestsRepository;
  sendCancellations: SendCancellationsRepository;
  sendSchedules: SendSchedulesRepository;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** For what opens the store as a whole (health, retention, erasure); everything else goes through `repositories`. */
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
      ledger: new DeliveriesRepository(database),
      notifications: new NotificationsRepository(database),
      placeholders: new PlaceholdersRepository(database),
      preferences: new PreferencesRepository(database),
      suppressions: new SuppressionsRepository(database),
      providers: new ProvidersRepository(database),
      messageRequests: new MessageRequestsRepository(database),
      callbackEvents: new CallbackEventsRepository(database),
      deliveryReports: new DeliveryReportsRepository(database),
      conversations: new ConversationsRepository(database),
      inboundMessages: new InboundMessagesRepository(database),
      sagaFailEvents: new SagaFailEventsRepository(database),
      digests: new DigestsRepository(database),
      sendCancellations: new SendCancellationsRepository(database),
      sendSchedules: new SendSchedulesRepository(database),
    });
  },
  { name: 'database', dependencies: ['config'] },
);
