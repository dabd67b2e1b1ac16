/**
 * The OS1 API's sample request bodies as written, for the tests that check the service takes them as they are and for
 * those that build on them.
 */

/** The two registerProvider samples: only `region "ap south 1"` reads as "ap-south-1". */
export const SEED_SES = {
  name: 'aws ses external',
  providerType: 'ses',
  credentials: {
    accessKeyId: 'yourAccessKeyId',
    region: 'ap-south-1',
    secretAccessKey: 'yourSecretAccessKey',
    projectId: 'yourAccountIdForReference',
  },
  isActive: true,
  isTenantDefault: true,
};
export const SEED_INFOBIP = {
  name: 'test infobip',
  providerType: 'infobip',
  credentials: {
    clientId: 'your client id',
    clientSecret: 'your client secret',
    apiBaseUrl: 'https://api.infobip.com',
  },
  isActive: true,
  isTenantDefault: true,
};

/**
 * The three createTemplates samples: only the URLs the seed prints as "https //…" read as https://…, and its keys in
 * their camelCase.
 */
export const SEED_TEMPLATES = {
  sms: {
    name: 'order sent',
    mode: 'sms',
    data: { body: 'your login otp is {{otp}}', externalRef: '1107900000188600009', originationNumber: '+123456789' },
    isActive: true,
    tags: ['os1'],
  },
  email: {
    name: 'order processed',
    mode: 'email',
    data: {
      body: 'dear customer,\n\nyour order with the order id {{orderId}} has been delivered successfully the awb number for your order is {{awbNumber}} thank you for choosing our service \n\nsincerely,\nthe {{companyName}} team',
      subject: 'order delivered {{orderId}}',
      format: 'text/plain',
      from: '',
    },
    isActive: true,
  },
  whatsapp: {
    name: 'order delivered',
    mode: 'whatsapp',
    data: {
      body: 'dear {{name}}, your order {{orderId}} has been delivered successfully ',
      externalRef: '1243234232',
      from: '2424242842',
      media: {
        document: { url: 'https://example.com/document.pdf', filename: 'delivery receipt.pdf' },
        image: { url: 'https://example.com/image.jpg' },
      },
      buttons: [{ url: { value: 'https://abc.com/{{1}}' } }, { 'quick reply': { value: 'confirm delivery' } }],
    },
    isActive: true,
    tags: ['os1', 'delivery'],
  },
} as const;
