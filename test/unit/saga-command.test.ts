import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SagaCommandReader } from '../../api/services/saga-command';
import type { ServiceConfig } from '../../common/config/config';
import { HttpError } from '../../common/domain/http-errors';
import type { SagaCommand } from '../../api/schemas/saga-schemas';

type FlowManagerConfiguration = NonNullable<ServiceConfig['flowManagerConfiguration']>;
type MetadataSchema = NonNullable<FlowManagerConfiguration['metadataSchema']>;

const dir = mkdtempSync(path.join(os.tmpdir(), 'saga-command-test-'));
const writeModule = (name: string, source: string) => {
  const file = path.join(dir, name);
  writeFileSync(file, source);
  return file;
};

const command = (messagePayload: Record<string, unknown>): SagaCommand => ({
  key: 'order-42',
  value: { messageLabel: 'sendNotification', messagePayload },
});
const read = (metadataSchema: MetadataSchema, payload: Record<string, unknown>) =>
  new SagaCommandReader({ metadataSchema }).toSendBody(command(payload));

/** The payload of the saga example of docs/operating-sends.md "Saga sends". */
const readmePayload = {
  notification: { channels: ['email', 'sms'], template: '64b000000000000000000001' },
  buyer: { id: '64a000000000000000000002' },
};

describe('SagaCommandReader.toSendBody (docs/configuration.md metadataSchema)', () => {
  it('reads each field from its dot path into messagePayload; data is the whole command', () => {
    const saga = command(readmePayload);
    const body = new SagaCommandReader({
      metadataSchema: {
        channels: 'notification.channels',
        recipients: 'buyer.id',
        templateId: 'notification.template',
      },
    }).toSendBody(saga);
    expect(body).toEqual({
      channels: ['email', 'sms'],
      recipients: ['64a000000000000000000002'],
      templateId: '64b000000000000000000001',
      data: saga,
    });
  });

  it('leaves out a field whose path leads nowhere, through a missing object or a non-object', () => {
    const body = read(
      { channels: 'notification.channels', clusters: 'audience.groups', messageTitle: 'buyer.id.first' },
      readmePayload,
    );
    expect(body).not.toHaveProperty('clusters');
    expect(body).not.toHaveProperty('messageTitle');
    expect(body.channels).toEqual(['email', 'sms']);
  });

  it('concatenates the values of a list of paths, flattening lists and skipping missing or null ones', () => {
    const body = read(
      {
        channels: ['first.channel', 'more.channels'],
        recipients: ['buyer.id', 'nobody.id', 'seller.ids', 'gone'],
        messageContent: ['text.greeting', 'text.missing', 'text.body'],
      },
      {
        first: { channel: 'email' },
        more: { channels: ['sms', 'push'] },
        buyer: { id: 'b1' },
        seller: { ids: ['s1', 's2'] },
        gone: null,
        text: { greeting: 'Hello, ', body: 'your order shipped' },
      },
    );
    expect(body.channels).toEqual(['email', 'sms', 'push']);
    expect(body.recipients).toEqual(['b1', 's1', 's2']);
    expect(body.messageContent).toBe('Hello, your order shipped');
  });

  it('turns a single value for a list field into a list of one', () => {
    const body = read(
      { channels: 'channel', emailCarbonCopies: 'copy', emailBlindCarbonCopies: 'hidden' },
      { channel: 'sms', copy: 'cc@example.com', hidden: ['bcc@example.com'] },
    );
    expect(body.channels).toEqual(['sms']);
    expect(body.emailCarbonCopies).toEqual(['cc@example.com']);
    expect(body.emailBlindCarbonCopies).toEqual(['bcc@example.com']);
  });

  it('keeps the first value of a text field that is not all strings, for the send schema to reject', () => {
    const body = read(
      { channels: 'channel', templateId: ['template.number', 'template.suffix'] },
      {
        channel: 'email',
        template: { number: 42, suffix: 'x' },
      },
    );
    expect(body.templateId).toBe(42);
  });

  it.each([
    ['no metadataSchema', { serviceUrl: 'http://flow-manager' }],
    ['no flowManagerConfiguration', undefined],
  ])('answers 400 naming the missing metadataSchema when there is %s', (_case, configuration) => {
    const reader = new SagaCommandReader(configuration);
    const attempt = () => reader.toSendBody(command(readmePayload));
    expect(attempt).toThrow(HttpError);
    expect(attempt).toThrow(/^key: .*flowManagerConfiguration\.metadataSchema/);
    try {
      attempt();
    } catch (error) {
      expect((error as HttpError).statusCode).toBe(400);
    }
  });

  it('takes templateId and data from the getTemplateIdFilePath / getDataFilePath modules', () => {
    const templateIdModule = writeModule(
      'template-id.js',
      'module.exports = (command) => `tpl-${command.value.messagePayload.kind}`;',
    );
    const dataModule = writeModule(
      'data.js',
      'exports.default = (command) => ({ saga: command.key, kind: command.value.messagePayload.kind });',
    );
    const body = new SagaCommandReader({
      metadataSchema: { channels: 'channels', templateId: 'ignored' },
      getTemplateIdFilePath: templateIdModule,
      getDataFilePath: dataModule,
    }).toSendBody(command({ channels: ['push'], kind: 'shipped', ignored: 'from-path' }));
    expect(body).toEqual({
      channels: ['push'],
      templateId: 'tpl-shipped',
      data: { saga: 'order-42', kind: 'shipped' },
    });
  });

  it('resolves a module path relative to the working directory', () => {
    const file = writeModule('relative.js', 'module.exports = () => "relative-template";');
    const body = new SagaCommandReader({
      metadataSchema: { channels: 'channels' },
      getTemplateIdFilePath: path.relative(process.cwd(), file),
    }).toSendBody(command({ channels: ['email'] }));
    expect(body.templateId).toBe('relative-template');
  });

  it('refuses at construction a module that cannot be loaded or exports no function, naming the setting', () => {
    const notAFunction = writeModule('not-a-function.js', 'module.exports = { templateId: "x" };');
    const broken = writeModule('broken.js', 'module.exports = (;');
    expect(() => new SagaCommandReader({ getTemplateIdFilePath: notAFunction })).toThrow(
      /getTemplateIdFilePath .*not-a-function\.js does not export a function/,
    );
    expect(() => new SagaCommandReader({ getDataFilePath: broken })).toThrow(
      /getDataFilePath .*broken\.js cannot be loaded/,
    );
    expect(() => new SagaCommandReader({ getDataFilePath: path.join(dir, 'missing.js') })).toThrow(
      /getDataFilePath .*missing\.js cannot be loaded/,
    );
  });
});
