import { providerVariable } from '../common/config/config';
import { parseEnvironment } from '../providers/service-configuration';
import { ensureFcmServiceAccount } from './local-stack';

/**
 * `node dist/scripts/fcm-key.js`, docker-compose.yml's `fcm-key` job: writes a throwaway FCM service account at
 * `FCM_CREDENTIALS_PATH` (one already there is kept) for the provider simulator, which checks the shape of a token
 * request, not its signature. A real deployment mounts Google's JSON key there instead.
 */
const file = providerVariable(parseEnvironment(process.env), 'FCM_CREDENTIALS_PATH');
if (!file) {
  console.error('FCM_CREDENTIALS_PATH is not set');
  process.exit(1);
}
console.log(`FCM service account: ${ensureFcmServiceAccount(file)}`);
