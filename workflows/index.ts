export { sendMessage } from './send-message';
export { sagaSendMessage, sagaFailEvent } from './saga-send';
export { progressQuery } from './send-progress';
export { deliverMessages, postMessageCallbacks } from './deliver-messages';
export { routeInboundMessage } from './route-inbound-message';
export { conversation } from './conversation';
export { digest } from './digest';
