import { ObjectId } from 'mongodb';
import type { Database } from '../common/store/db';
import type { ServiceConfig } from '../common/config/config';

/** Fixed ids so that the examples of README.md and docs/ work on every machine. */
export const DEMO_TEMPLATE_ID = '64b000000000000000000001';
export const DEMO_USER_IDS = ['64a000000000000000000001', '64a000000000000000000002', '64a000000000000000000003'];

/** Seeds demo users (cluster `demo`) and the appointment template of the seeds; idempotent upserts. */
export async function seedDemoData(database: Database, fields: ServiceConfig['userFields']): Promise<void> {
  const people = [
    {
      name: 'Mario',
      surname: 'Rossi',
      email: 'mario.rossi@example.com',
      phone: '+393331234567',
      token: 'demo-device-mario',
    },
    {
      name: 'Luigi',
      surname: 'Verdi',
      email: 'luigi.verdi@example.com',
      phone: '+393337654321',
      token: 'demo-device-luigi',
    },
    { name: 'Anna', surname: 'Bianchi', email: 'anna.bianchi@example.com', phone: '+393339998877' },
  ];
  await Promise.all(
    people.map((person, index) => {
      const _id = new ObjectId(DEMO_USER_IDS[index]);
      const user: Record<string, unknown> = {
        name: person.name,
        surname: person.surname,
        [fields.emailAddress]: person.email,
        [fields.phoneNumber]: person.phone,
        [fields.clusters]: ['demo', index === 0 ? 'vip' : 'standard'],
        ...(person.token ? { [fields.deviceToken]: person.token } : {}),
      };
      if (fields.id !== '_id') user[fields.id] = DEMO_USER_IDS[index];
      return database.users.updateOne({ _id }, { $set: user }, { upsert: true });
    }),
  );
  await database.templates.updateOne(
    { _id: new ObjectId(DEMO_TEMPLATE_ID) },
    {
      $set: {
        name: 'appointment-reminder',
        emailTitle: 'Your appointment, {{user.name}}',
        emailHtmlMessage:
          '<p>Hello, {{user.name}}!</p><p>Your appointment is dated {{data.appointmentDate}}.</p>{{#if (eq data.type "patients")}}<p>Patient: {{data.firstName}} {{data.lastName}}</p>{{/if}}',
        emailMessage: 'Hello, {{user.name}}! Your appointment is dated {{data.appointmentDate}}.',
        smsMessage: 'Hello, {{user.name}}! Your appointment is dated {{data.appointmentDate}}.',
        voiceMessage: 'Hello {{user.name}}. Your appointment is dated {{data.appointmentDate}}.',
        pushTitle: 'Appointment reminder',
        pushSubtitle: '{{data.appointmentDate}}',
        pushMessage: 'Hello, {{user.name}}! Your appointment is dated {{data.appointmentDate}}.',
        whatsappMessage: 'Hello, {{user.name}}! Your appointment is dated {{data.appointmentDate}}.',
        pushData: { android: { priority: 'high' } },
      },
    },
    { upsert: true },
  );
}
