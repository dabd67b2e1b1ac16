import { parse as parseQueryString } from 'node:querystring';
import Fastify, { FastifyInstance } from 'fastify';
import type { SimulatorContext } from '../context';
import { registerAws } from './aws-stand-in';
import { registerCallbacks } from './callbacks-stand-in';
import { registerControl } from './control';
import { registerFcm } from './fcm-stand-in';
import { registerFilesService } from './files-service-stand-in';
import { registerFlowManager } from './flow-manager-stand-in';
import { registerInbox } from './inbox';
import { registerInfobip } from './infobip-stand-in';
import { registerKaleyra } from './kaleyra-stand-in';
import { registerMiaSmsService } from './mia-sms-service-stand-in';
import { registerTwilio } from './twilio-stand-in';
import { registerWhatsappInbound } from './whatsapp-inbound-stand-in';

/** One Fastify server for every simulated HTTP provider plus the control API, the callback catcher and the inbox. */
export function buildHttpServer(ctx: SimulatorContext): FastifyInstance {
  const app = Fastify({ logger: false });
  // Twilio, Kaleyra and the OAuth token endpoint take HTML-form bodies, which Fastify does not parse by default.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, parseQueryString(body as string)),
  );
  registerTwilio(app, ctx);
  registerFcm(app, ctx);
  registerKaleyra(app, ctx);
  registerInfobip(app, ctx);
  registerWhatsappInbound(app, ctx);
  registerAws(app, ctx);
  registerMiaSmsService(app, ctx);
  registerFilesService(app, ctx);
  registerFlowManager(app, ctx);
  registerControl(app, ctx);
  registerCallbacks(app, ctx);
  registerInbox(app, ctx);
  return app;
}
