export { sendMessage, sagaSendMessage, progressQuery } from './send-message';
