import { CompiledContent, MissingContentError } from '../../common/rendering/message-content';
import { MessageRenderer, plainTextToHtml, TemplateSyntaxError } from '../../common/rendering/rendering';
import type { TemplateDocument } from '../../common/store/templates-repository';
import type { SendRequest } from '../../common/domain/send-types';
import { ObjectId } from 'mongodb';

const renderer = new MessageRenderer('en');
const render = (source: string, user: Record<string, unknown> = {}, data: Record<string, unknown> = {}) =>
  renderer.compile('messageContent', source)({ user, data });

const baseRequest: SendRequest = {
  channels: ['email', 'sms', 'push', 'voice'],
  recipients: ['u1'],
  clusters: [],
  messageTitle: 'Hi {{user.name}}',
  messageContent: 'Hello, {{user.name}}!\nSee <you>',
  data: {},
  emailAttachments: [],
  emailCarbonCopies: [],
  emailBlindCarbonCopies: [],
};

describe('rendering (docs/api.md "Rendering")', () => {
  it('renders the seeds example for Mario', () => {
    expect(
      render(
        'Hello, {{user.name}}! Your appointment is dated {{data.appointmentDate}}',
        { name: 'Mario', surname: 'Rossi' },
        { appointmentDate: '01/01/2021' },
      ),
    ).toBe('Hello, Mario! Your appointment is dated 01/01/2021');
  });

  it('supports the eq helper from handlebars-helpers', () => {
    const source = '{{#if (eq data.type "patients")}}{{data.firstName}} {{data.lastName}}{{/if}}';
    expect(render(source, {}, { type: 'patients', firstName: 'Mario', lastName: 'Rossi' })).toBe('Mario Rossi');
    expect(render(source, {}, { type: 'doctors', firstName: 'Mario', lastName: 'Rossi' })).toBe('');
  });

  it('formats dates with dayjs, in a time zone, defaulting to ISO 8601 in UTC', () => {
    const data = { when: '2021-01-01T23:30:00Z' };
    expect(render("{{dateFormat data.when format='DD/MM/YYYY' tz='Europe/Rome'}}", {}, data)).toBe('02/01/2021');
    expect(render("{{dateFormat data.when format='DD/MM/YYYY HH:mm' tz='America/New_York'}}", {}, data)).toBe(
      '01/01/2021 18:30',
    );
    expect(render('{{dateFormat data.when}}', {}, data)).toBe('2021-01-01T23:30:00Z');
  });

  it('uses DEFAULT_LOCALE for month names', () => {
    const italian = new MessageRenderer('it');
    expect(
      italian.compile(
        'x',
        "{{dateFormat data.when format='D MMMM YYYY'}}",
      )({ user: {}, data: { when: '2021-03-05T10:00:00Z' } }),
    ).toBe('5 marzo 2021');
  });

  it('dateNow renders the current instant as ISO 8601', () => {
    const before = Date.now();
    const rendered = Date.parse(render('{{dateNow}}'));
    expect(rendered).toBeGreaterThanOrEqual(before - 1000);
    expect(rendered).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it('rejects a template that does not compile, naming the field', () => {
    expect(() => renderer.compile('smsMessage', 'Hello {{#if user.name}}')).toThrow(TemplateSyntaxError);
    expect(() => renderer.compile('smsMessage', 'Hello {{#if user.name}}')).toThrow(/smsMessage/);
    expect(() => renderer.compile('smsMessage', '{{noSuchHelper user.name}}')).toThrow(/noSuchHelper/);
  });

  it('leaves file-system helpers out of reach of templates', () => {
    expect(() => renderer.compile('emailMessage', "{{read '/etc/passwd'}}")).toThrow(TemplateSyntaxError);
  });

  it('does not escape plain text but escapes HTML emails, turning newlines into <br/>', () => {
    const content = new CompiledContent(baseRequest, null, renderer);
    const user = { name: '<b>Mario</b>' };
    const sms = content.render('sms', { user, data: {} });
    expect(sms).toEqual({ channel: 'sms', body: 'Hello, <b>Mario</b>!\nSee <you>' });
    const email = content.render('email', { user, data: {} });
    expect(email).toMatchObject({ subject: 'Hi <b>Mario</b>', text: 'Hello, <b>Mario</b>!\nSee <you>' });
    expect(email.channel === 'email' && email.html).toBe('Hello, &lt;b&gt;Mario&lt;/b&gt;!<br/>See &lt;you&gt;');
    expect(plainTextToHtml('a\r\nb & c')).toBe('a<br/>b &amp; c');
  });

  it('prefers the template HTML, escaping interpolated values', () => {
    const template: TemplateDocument = {
      _id: new ObjectId(),
      emailTitle: 'T',
      emailMessage: 'text {{user.name}}',
      emailHtmlMessage: '<p>{{user.name}}</p>',
    };
    const content = new CompiledContent({ ...baseRequest, channels: ['email'] }, template, renderer);
    const email = content.render('email', { user: { name: '<i>x</i>' }, data: {} });
    expect(email).toMatchObject({ html: '<p>&lt;i&gt;x&lt;/i&gt;</p>', text: 'text <i>x</i>' });
  });

  it('names the channel and field a template lacks', () => {
    const template: TemplateDocument = { _id: new ObjectId(), emailTitle: 'T', emailMessage: 'M' };
    expect(() => new CompiledContent({ ...baseRequest, channels: ['email', 'sms'] }, template, renderer)).toThrow(
      MissingContentError,
    );
    expect(() => new CompiledContent({ ...baseRequest, channels: ['email', 'sms'] }, template, renderer)).toThrow(
      /smsMessage.*sms/,
    );
  });
});
