export { sendMessage, sagaSendMessage } from './send-message';
