import type { RenderContext } from './rendering';
import type { ScopedPlaceholders } from '../store/placeholders-repository';

/**
 * The values a mode template renders with: the message's `data` over its application's placeholders over the
 * tenant's, each also under its own name (`{{tenant.companyName}}`, `{{app.supportPhone}}`). The message's `data`
 * wins even over the names `tenant` and `app`, so a message that carried such fields renders as it did before.
 */
export function mergedPlaceholderValues(
  data: Record<string, unknown>,
  scoped: ScopedPlaceholders | undefined,
): Record<string, unknown> {
  if (!scoped) return data;
  return { ...scoped.tenant, ...scoped.app, tenant: scoped.tenant, app: scoped.app, ...data };
}

/**
 * The Handlebars context of a mode template: its values at the root (`{{orderId}}`, as OS1 templates write them) and
 * under `data` (`{{data.orderId}}`, as Mia's do).
 */
export function modeTemplateContext(values: Record<string, unknown>): RenderContext {
  return { user: {}, data: values, ...values } as RenderContext;
}
