import { ObjectId } from 'mongodb';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseEnvironment } from '../../providers/service-configuration';
import { RenderPool, renderPoolOptions } from '../../common/rendering/render-pool';

/** Three levels of `each` over `items`: items³ iterations, no output. */
const RUNAWAY = '{{#each data.items}}{{#each @root.data.items}}{{#each @root.data.items}}{{/each}}{{/each}}{{/each}}';
const THOUSAND = Array.from({ length: 1000 }, (_, index) => index);

describe('RenderPool (docs/api.md "Rendering")', () => {
  const pool = new RenderPool({ locale: 'en', timeoutMs: 300, maxOutputBytes: 1024 });
  afterAll(() => pool.close());

  it('renders a batch in one task, with the shared data, and MongoDB values as their text', async () => {
    const id = new ObjectId();
    const outcomes = await pool.render(
      [
        { source: '{{user.name}} {{user._id}} {{data.n}}', html: false },
        null,
        { source: '<{{user.name}}>', html: true },
      ],
      [{ user: { name: 'Ada', _id: id } }, { user: { name: '<b>' } }],
      { n: 7 },
    );
    expect(outcomes).toEqual([
      { texts: [`Ada ${id.toHexString()} 7`, undefined, '<Ada>'] },
      { texts: ['<b>  7', undefined, '<&lt;b&gt;>'] },
    ]);
  });

  it('ends a render past the time budget, fails only that context, and keeps the caller’s event loop free', async () => {
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const outcomes = await pool.render(
      [{ source: `{{#if user.slow}}${RUNAWAY}{{/if}}{{user.name}}`, html: false }],
      [{ user: { name: 'a' } }, { user: { name: 'b', slow: true } }, { user: { name: 'c' } }],
      { items: THOUSAND },
    );
    loopDelay.disable();
    expect(outcomes).toEqual([
      { texts: ['a'] },
      { code: 'RENDER_LIMIT', error: 'rendering took longer than the 300 ms budget' },
      { texts: ['c'] },
    ]);
    expect(loopDelay.max / 1e6).toBeLessThan(200);
    expect(await pool.render([{ source: 'next {{user.name}}', html: false }], [{ user: { name: 'd' } }])).toEqual([
      { texts: ['next d'] },
    ]);
  });

  it('fails the rest of a task without rendering it after three overruns', async () => {
    const contexts = Array.from({ length: 6 }, () => ({ user: {} }));
    const outcomes = await pool.render([{ source: RUNAWAY, html: false }], contexts, { items: THOUSAND });
    expect(outcomes.map((outcome) => outcome.code)).toEqual(Array(6).fill('RENDER_LIMIT'));
    expect(outcomes.slice(3).every((outcome) => 'error' in outcome && /not rendered/.test(outcome.error))).toBe(true);
  });

  it('fails a message whose fields together are over the output cap, counted in UTF-8 bytes', async () => {
    const outcomes = await pool.render(
      [
        { source: '{{user.text}}', html: false },
        { source: '{{user.text}}', html: false },
      ],
      [{ user: { text: 'x'.repeat(500) } }, { user: { text: 'é'.repeat(300) } }, { user: { text: 'é'.repeat(200) } }],
    );
    expect(outcomes.map((outcome) => outcome.code)).toEqual([undefined, 'RENDER_LIMIT', undefined]);
  });

  it('answers a template that throws as RENDER_ERROR', async () => {
    const [outcome] = await pool.render([{ source: '{{abs user.n}}', html: false }], [{ user: { n: 'x' } }]);
    expect(outcome).toEqual({ code: 'RENDER_ERROR', error: 'rendering failed: expected a number' });
  });

  it('keeps each context its own texts when one between fails halfway through its templates', async () => {
    const outcomes = await pool.render(
      [
        { source: '{{user.a}}', html: false },
        { source: '{{abs user.n}}', html: false },
      ],
      [{ user: { a: 'x', n: -1 } }, { user: { a: 'y', n: 'bad' } }, { user: { a: 'z', n: 2 } }],
    );
    expect(outcomes).toEqual([
      { texts: ['x', '1'] },
      { code: 'RENDER_ERROR', error: 'rendering failed: expected a number' },
      { texts: ['z', '2'] },
    ]);
  });

  it('takes its limits from the configuration: 1 s and 1 MiB by default', () => {
    expect(renderPoolOptions(parseEnvironment({}))).toEqual({
      locale: 'en',
      timeoutMs: 1000,
      maxOutputBytes: 1024 * 1024,
    });
    expect(
      renderPoolOptions(parseEnvironment({ RENDER_TIMEOUT_MS: '250', RENDER_MAX_OUTPUT_BYTES: '65536' })),
    ).toMatchObject({ timeoutMs: 250, maxOutputBytes: 65536 });
    expect(() => parseEnvironment({ RENDER_TIMEOUT_MS: '0' })).toThrow(/RENDER_TIMEOUT_MS/);
  });
});
