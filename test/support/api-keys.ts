import { MIN_KEY_LENGTH } from '../../common/config/api-keys';

/**
 * A test's API key: `name-` padded to the `MIN_KEY_LENGTH` characters `API_KEYS` wants, so that a test still reads
 * which key is which (`testApiKey('reader')`).
 */
export const testApiKey = (name: string): string => `${name}-`.padEnd(MIN_KEY_LENGTH, '0123456789abcdef');
