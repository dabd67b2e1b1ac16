import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CHANNELS, type Channel } from '../../common/config/config';
import { PROFILES } from '../../common/config/profiles';
import { SIMULATOR_URL, type ProviderModule } from '../../providers/provider-module';
import { PROVIDER_CATALOG, PROVIDER_MODULES, PROVIDER_TYPES } from '../../providers/provider-registry';
import { envSchema, parseEnvironment, serviceConfigSchema } from '../../providers/service-configuration';

/** The parts a provider module must have (providers/provider-module.ts), each with what makes it whole. */
const PARTS = [
  'type',
  'channels',
  'settingsSchema',
  'environment',
  'defaultFor',
  'profileDefaults',
  'urlSettings',
  'publicHosts',
  'errorReader',
  'build',
] as const;

/** The keys a settings schema accepts, through `.extend`, `.superRefine` and `.optional` wrappers. */
function settingKeys(schema: z.ZodType): string[] {
  const shape = (schema as unknown as { shape?: Record<string, unknown> }).shape;
  if (shape) return Object.keys(shape);
  const inner = (schema as unknown as { def?: { in?: z.ZodType; innerType?: z.ZodType; schema?: z.ZodType } }).def;
  const wrapped = inner?.in ?? inner?.innerType ?? inner?.schema;
  return wrapped ? settingKeys(wrapped) : [];
}

/** What is missing or inconsistent in a module; none for a whole one. */
function moduleProblems(module: Partial<Record<(typeof PARTS)[number], unknown>>): string[] {
  const problems = PARTS.filter((part) => !Object.hasOwn(module, part)).map((part) => `no ${part}`);
  if (problems.length > 0) return problems;
  const whole = module as ProviderModule;
  if (!(whole.settingsSchema instanceof z.ZodType)) problems.push('settingsSchema is not a zod schema');
  else {
    // The provider API documents a type's credentials with it (api/schemas/providers-schemas.ts).
    if (!whole.settingsSchema.description) problems.push('settingsSchema has no description');
    const keys = settingKeys(whole.settingsSchema);
    const unknown = (settings: readonly string[], part: string) =>
      settings.filter((setting) => !keys.includes(setting)).forEach((setting) => problems.push(`${part}: ${setting}`));
    unknown(Object.keys(whole.environment ?? {}), 'environment names an unknown setting');
    unknown(whole.urlSettings, 'urlSettings names an unknown setting');
    for (const profile of PROFILES) {
      const defaults = whole.profileDefaults?.[profile];
      if (!defaults) problems.push(`no ${profile} profile defaults`);
      else unknown(Object.keys(defaults), `${profile} defaults name an unknown setting`);
      // A default reaches the service only through an environment variable.
      if (defaults && Object.keys(defaults).length > 0 && whole.environment === null)
        problems.push(`${profile} defaults without an environment mapping`);
    }
  }
  if (whole.channels.length === 0) problems.push('serves no channel');
  for (const channel of whole.defaultFor)
    if (!whole.channels.includes(channel)) problems.push(`default for ${channel}, which it does not serve`);
  if (whole.defaultFor.length > 0 && whole.environment === null)
    problems.push('a default of the configuration without an environment mapping');
  if (typeof whole.build !== 'function') problems.push('build is not a function');
  const reader = whole.errorReader as Record<string, unknown> | null;
  if (reader !== null && typeof (reader.answerBody ?? reader.thrown) !== 'function')
    problems.push('errorReader reads nothing');
  return problems;
}

describe('the provider registry (providers/provider-registry.ts)', () => {
  it.each(PROVIDER_MODULES.map((module) => [module.type, module] as const))('%s is a whole module', (_, module) => {
    expect(moduleProblems(module)).toEqual([]);
  });

  it('finds a module that lacks a part, or whose parts disagree', () => {
    const { errorReader: _errorReader, ...withoutReader } = PROVIDER_MODULES[2];
    expect(moduleProblems(withoutReader)).toEqual(['no errorReader']);
    const twilio = PROVIDER_MODULES.find((module) => module.type === 'twilio')!;
    expect(moduleProblems({ ...twilio, environment: { ...twilio.environment, authtoken: 'TWILIO_TOKEN' } })).toEqual([
      'environment names an unknown setting: authtoken',
    ]);
    expect(moduleProblems({ ...twilio, defaultFor: ['push'] })).toEqual(['default for push, which it does not serve']);
  });

  it('lists each type once, in the order the API and the error messages give them', () => {
    expect(new Set(PROVIDER_TYPES).size).toBe(PROVIDER_TYPES.length);
    expect(PROVIDER_TYPES).toEqual([
      'smtp',
      'ses',
      'twilio',
      'kaleyra',
      'pinpoint',
      'infobip',
      'fcm',
      'mia-sms-service',
    ]);
  });

  it('gives every channel exactly one default provider the configuration can name', () => {
    for (const channel of CHANNELS) {
      const defaults = PROVIDER_MODULES.filter((module) => (module.defaultFor as readonly Channel[]).includes(channel));
      expect([channel, defaults.map((module) => module.type)]).toEqual([
        channel,
        [PROVIDER_CATALOG.configurable[channel][0]],
      ]);
    }
    expect(PROVIDER_CATALOG.configurable).toEqual({
      email: ['smtp'],
      sms: ['twilio', 'kaleyra', 'mia-sms-service'],
      voice: ['kaleyra', 'twilio'],
      push: ['fcm'],
      whatsapp: ['infobip'],
    });
  });

  it('composes the configuration: every mapped variable in the environment, every type in providers.<channel>', () => {
    const variables = PROVIDER_MODULES.flatMap((module) => Object.values(module.environment ?? {}));
    expect(Object.keys(envSchema.shape)).toEqual(expect.arrayContaining(variables));
    expect(serviceConfigSchema.parse({ activeChannels: ['sms'] }).providers).toEqual({
      email: 'smtp',
      sms: 'twilio',
      voice: 'kaleyra',
      push: 'fcm',
      whatsapp: 'infobip',
    });
  });

  it("points the development profile's URLs at the simulator, and leaves the production profile's credentials unset", () => {
    const development = parseEnvironment({ MESSAGING_PROFILE: 'development' });
    const production = parseEnvironment({});
    for (const module of PROVIDER_MODULES) {
      for (const setting of module.urlSettings) {
        const variable = (module.environment as Record<string, string> | null)?.[setting];
        const value = variable && development[variable];
        if (typeof value === 'string')
          expect([variable, value]).toEqual([variable, expect.stringMatching(/127\.0\.0\.1/)]);
      }
      for (const [setting, variable] of Object.entries((module.environment ?? {}) as Record<string, string>))
        if (!(module.urlSettings as readonly string[]).includes(setting))
          expect([variable, production[variable]]).toEqual([variable, undefined]);
    }
    expect(development.TWILIO_BASE_URL).toBe(SIMULATOR_URL);
  });

  it('has a stand-in in the simulator for every provider type, and the simulator stands in for no other', () => {
    const sources = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? sources(path.join(dir, entry.name)) : [path.join(dir, entry.name)],
      );
    const counted = new Set(
      sources(path.join(__dirname, '../../simulator'))
        .filter((file) => file.endsWith('.ts'))
        .flatMap((file) =>
          [...readFileSync(file, 'utf8').matchAll(/stats\.request\('([^']+)'\)/g)].map((match) => match[1]),
        ),
    );
    // Not providers: the services the simulator also stands in for, and FCM's token endpoint.
    for (const other of ['files-service', 'flow-manager', 'fcm-oauth']) counted.delete(other);
    expect([...counted].sort()).toEqual([...PROVIDER_TYPES].sort());
  });
});
