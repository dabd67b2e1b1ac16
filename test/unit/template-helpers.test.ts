import { MessageRenderer, TemplateSyntaxError, userFieldsOf } from '../../common/rendering/rendering';
import { ALLOWED_HELPER_NAMES } from '../../common/rendering/template-helpers';

const renderer = new MessageRenderer('en', 1000);
const render = (source: string, user: Record<string, unknown> = {}, data: Record<string, unknown> = {}) =>
  renderer.compile('messageContent', source)({ user, data });

/** What each dropped helper would have been called with: all must be refused at compile time. */
const DROPPED = [
  `{{merge (get "__proto__" data) (JSONparse '{"accpolZ":"yes"}')}}`,
  '{{extend data user}}',
  '{{JSONstringify user}}',
  '{{#forIn user}}{{/forIn}}',
  '{{test data.text (toRegex "^(a+)+$")}}',
  '{{log user}}',
  '{{center user.name 80000000}}',
  '{{occurrences user.name ""}}',
  '{{camelcase user.name}}',
  '{{snakecase user.name}}',
  '{{chop user.name}}',
  '{{#raw user}}{{/raw}}',
  '{{#forEach data.items}}{{/forEach}}',
  '{{#iterate data.items}}{{/iterate}}',
  '{{pluck data.items "__proto__"}}',
  '{{#filter data.items 1 property="constructor"}}{{/filter}}',
  '{{sortBy data.items "x"}}',
  '{{#withSort data.items "x"}}{{/withSort}}',
  '{{option "x"}}',
  '{{#frame x=1}}{{/frame}}',
  '{{urlParse data.url}}',
  "{{read '/etc/passwd'}}",
  '{{> partial}}',
  '{{#*inline "loop"}}{{> loop}}{{/inline}}{{> loop}}',
];

describe('template helpers (docs/api.md "Rendering")', () => {
  it('registers exactly the allow-list, dateNow and dateFormat', () => {
    const registered = Object.keys((renderer as unknown as { handlebars: { helpers: object } }).handlebars.helpers);
    expect(registered.sort()).toEqual([...ALLOWED_HELPER_NAMES, 'dateFormat', 'dateNow'].sort());
  });

  it.each(DROPPED)('refuses %s at compile time', (source) => {
    expect(() => renderer.compile('messageContent', source)).toThrow(TemplateSyntaxError);
  });

  it('keeps the helpers templates use, with the library results', () => {
    expect(
      render(
        '{{capitalize user.name}} {{uppercase user.name}} {{#if (eq data.n 2)}}two{{/if}}',
        { name: 'ada' },
        { n: 2 },
      ),
    ).toBe('Ada ADA two');
    expect(render('{{addCommas 1234567.1234}}|{{addCommas 12}}|{{addCommas "a1234b"}}')).toBe(
      '1,234,567.1,234|12|a1,234b',
    );
    expect(render('[{{trimRight "  a b  "}}][{{trimLeft "  a"}}]')).toBe('[  a b][a]');
    expect(render('{{join (unique (split "a,b,a,c,b")) "-"}}')).toBe('a-b-c');
    expect(render('{{#each data.items}}{{this}}{{/each}}{{#data.items}}.{{/data.items}}', {}, { items: [1, 2] })).toBe(
      '12..',
    );
    expect(render('{{encodeURI "a b"}} {{truncate "abcdef" 3}} {{toFixed 1.234 1}} {{lorem 5}}')).toBe(
      'a%20b abc 1.2 Lorem',
    );
  });

  it('keeps the replaced helpers linear on input that made the library backtrack', () => {
    const roomy = new MessageRenderer('en', 10_000_000);
    const started = Date.now();
    const rendered = roomy.compile(
      'messageContent',
      '{{length (trimRight data.spaces)}} {{length (addCommas data.digits)}} {{length (unique data.items)}}',
    )({
      user: {},
      data: {
        spaces: `${' '.repeat(200_000)}x`,
        digits: '1'.repeat(60_000),
        items: Array.from({ length: 50_000 }, (_, index) => index),
      },
    });
    expect(rendered).toBe('200001 79999 50000');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('reaches no prototype through lookup, with, paths or keys named __proto__ and constructor', () => {
    const user = JSON.parse('{"name":"Mario","__proto__":{"own":"data"}}') as Record<string, unknown>;
    expect(render('[{{lookup this "constructor"}}][{{lookup user "__proto__"}}][{{user.constructor}}]', user)).toBe(
      '[][[object Object]][]',
    );
    expect(
      render('{{#with user.constructor}}[{{name}}]{{/with}}{{#with (lookup user "constructor")}}x{{/with}}', user),
    ).toBe('');
    expect(render('{{user.constructor.prototype}}{{user.__defineGetter__}}{{user.hasOwnProperty}}', user)).toBe('');
    expect(render('{{#each user}}{{@key}};{{/each}}', user)).toBe('name;__proto__;');
    expect(render('[{{data.__proto__}}][{{data.constructor.name}}][{{data.toString}}]', {}, {})).toBe('[][][]');
    expect(Object.prototype).not.toHaveProperty('own');
  });

  it('stops a helper whose string result is over the output cap', () => {
    expect(() => render('{{replace data.text "x" data.text}}', {}, { text: 'x'.repeat(100) })).toThrow(
      /replace produced more than 1000 characters/,
    );
    expect(() =>
      render('{{#each data.items}}{{#each @root.data.items}}xx{{/each}}{{/each}}', {}, { items: Array(100).fill(0) }),
    ).toThrow(/each produced more than 1000 characters/);
    expect(render('{{replace "abc" "b" "x"}}')).toBe('axc');
  });

  it('stops a helper given a string or an array over the output cap (what it builds from one can end the process)', () => {
    expect(() => render('{{split data.text "a"}}', {}, { text: 'ab'.repeat(501) })).toThrow(
      /split was given more than 1000 characters or items/,
    );
    expect(() => render('{{length data.items}}', {}, { items: Array(1001).fill(0) })).toThrow(/length was given/);
    expect(
      render(
        '{{length data.items}} {{length (split data.text "a")}}',
        {},
        { items: Array(1000).fill(0), text: 'ab'.repeat(500) },
      ),
    ).toBe('1000 501');
  });
});

describe('userFieldsOf: the user fields a template reads, which alone cross to the render thread', () => {
  it.each([
    ['Hi {{user.firstName}} {{capitalize user.lastName}} {{data.code}}', ['firstName', 'lastName']],
    ['{{#if (eq user.type "a")}}{{@root.user.name}}{{/if}}{{#each data.items}}{{@index}}{{/each}}', ['type', 'name']],
    ['{{#each user.tags}}{{this}}{{/each}}', 'all'],
    ['{{#with user}}{{name}}{{/with}}', 'all'],
    ['{{#each data.items}}{{../user.name}}{{/each}}', 'all'],
    ['{{lookup @root "user"}}', 'all'],
    ['{{this.user.name}}', ['name']],
    ['No fields at all', []],
  ])('%s reads %j', (source, fields) => {
    const read = userFieldsOf(source);
    expect(read === 'all' ? read : [...read].sort()).toEqual(fields === 'all' ? fields : [...fields].sort());
  });
});
