declare module '@budibase/handlebars-helpers' {
  import type Handlebars from 'handlebars';
  function helpers(groups: string[], options: { handlebars: typeof Handlebars }): Record<string, unknown>;
  export default helpers;
}
