import { mergedPlaceholderValues, modeTemplateContext } from '../../common/rendering/placeholder-values';

describe('mergedPlaceholderValues: data over the app over the tenant', () => {
  const scoped = {
    tenant: { companyName: 'Tenant Co', supportPhone: 'T-1', city: 'Pune' },
    app: { companyName: 'App Co', supportPhone: 'A-1' },
  };

  it('takes each name from the message, else its application, else the tenant, and keeps each scope whole', () => {
    expect(mergedPlaceholderValues({ supportPhone: 'D-1', orderId: 'O1' }, scoped)).toEqual({
      companyName: 'App Co',
      supportPhone: 'D-1',
      city: 'Pune',
      orderId: 'O1',
      tenant: scoped.tenant,
      app: scoped.app,
    });
  });

  it("lets a message's own tenant or app field win, so it renders as before", () => {
    const merged = mergedPlaceholderValues({ tenant: 'acme' }, scoped);
    expect(merged.tenant).toBe('acme');
    expect(merged.app).toEqual(scoped.app);
  });

  it('is the data alone without scoped values', () => {
    const data = { orderId: 'O1' };
    expect(mergedPlaceholderValues(data, undefined)).toBe(data);
  });

  it('puts the values at the root and under data', () => {
    expect(modeTemplateContext({ orderId: 'O1' })).toEqual({ user: {}, data: { orderId: 'O1' }, orderId: 'O1' });
  });
});
