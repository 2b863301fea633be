// paygate/webhook for ESM: the same functions as index.cjs (one implementation, re-exported).
import helper from './index.cjs';

export const { SIGNATURE_HEADER, DEFAULT_TOLERANCE_SECONDS, verifyWebhook, generateTestHeader } = helper;
export default helper;
