import { ConfigurationError } from '../common/config/config';
import { checkConfiguration } from './config-report';

/**
 * `npm run check-config`: checks the configuration of this environment as the API and the worker do at boot and
 * prints the effective one, secrets redacted (docs/configuration.md); exits 1 with the boot's message when it is
 * invalid.
 */
checkConfiguration(process.env).then(
  (report) => console.log(report),
  (error: unknown) => {
    console.error(error instanceof ConfigurationError ? error.message : error);
    process.exit(1);
  },
);
