export { sendMessage, sagaSendMessage, sagaFailEvent, progressQuery } from './send-message';
