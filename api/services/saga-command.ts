import path from 'node:path';
import type { ServiceConfig } from '../../common/config/config';
import { badRequest } from '../../common/domain/http-errors';
import type { SagaCommand } from '../schemas/saga-schemas';
import { SEND_LIST_FIELDS } from '../schemas/send-schemas';

type MetadataSchema = NonNullable<NonNullable<ServiceConfig['flowManagerConfiguration']>['metadataSchema']>;

const TEXT_FIELDS = ['messageTitle', 'messageContent', 'templateId', 'sendAt'] as const;

function readPath(source: unknown, dotPath: string): unknown {
  return dotPath
    .split('.')
    .reduce<unknown>(
      (value, key) => (value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined),
      source,
    );
}

/** A module named by `getTemplateIdFilePath` / `getDataFilePath`: `(command) => value`, loaded once. */
function loadFunction(file: string, setting: string): (command: SagaCommand) => unknown {
  let loaded: unknown;
  try {
    loaded = require(path.resolve(file));
  } catch (error) {
    throw new Error(`flowManagerConfiguration.${setting} ${file} cannot be loaded: ${(error as Error).message}`);
  }
  const fn = typeof loaded === 'function' ? loaded : (loaded as { default?: unknown })?.default;
  if (typeof fn !== 'function')
    throw new Error(`flowManagerConfiguration.${setting} ${file} does not export a function`);
  return fn as (command: SagaCommand) => unknown;
}

/**
 * Turns a Flow Manager command into a `/send` body through `metadataSchema` (docs/configuration.md): each field is a
 * dot path into `value.messagePayload`, or a list of paths whose values are concatenated; list fields accept a
 * single value. `data` is the whole command unless `getDataFilePath` says otherwise.
 */
export class SagaCommandReader {
  private readonly templateIdOf?: (command: SagaCommand) => unknown;
  private readonly dataOf?: (command: SagaCommand) => unknown;

  constructor(private readonly configuration: ServiceConfig['flowManagerConfiguration']) {
    if (configuration?.getTemplateIdFilePath)
      this.templateIdOf = loadFunction(configuration.getTemplateIdFilePath, 'getTemplateIdFilePath');
    if (configuration?.getDataFilePath) this.dataOf = loadFunction(configuration.getDataFilePath, 'getDataFilePath');
  }

  toSendBody(command: SagaCommand): Record<string, unknown> {
    const schema: MetadataSchema | undefined = this.configuration?.metadataSchema;
    if (!schema)
      throw badRequest('key: /saga/send needs flowManagerConfiguration.metadataSchema in the service configuration');
    const metadata = command.value.messagePayload;
    const values = (field: keyof MetadataSchema) => {
      const paths = schema[field];
      if (paths === undefined) return [];
      return (Array.isArray(paths) ? paths : [paths])
        .map((dotPath) => readPath(metadata, dotPath))
        .filter((value) => value !== undefined && value !== null);
    };
    const body: Record<string, unknown> = {};
    for (const field of SEND_LIST_FIELDS) {
      const found = values(field);
      if (found.length > 0) body[field] = found.flat();
    }
    for (const field of TEXT_FIELDS) {
      const found = values(field);
      if (found.length === 0) continue;
      body[field] = found.every((value) => typeof value === 'string') ? found.join('') : found[0];
    }
    if (this.templateIdOf) body.templateId = this.templateIdOf(command);
    body.data = this.dataOf ? this.dataOf(command) : command;
    return body;
  }
}
