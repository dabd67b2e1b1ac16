export { sendMessage, sagaSendMessage, sagaFailEvent, progressQuery } from './send-message';
export { deliverMessages, postMessageCallbacks } from './deliver-messages';
export { routeInboundMessage } from './route-inbound-message';
export { conversation } from './conversation';
