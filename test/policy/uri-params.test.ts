import t from 'tap';
import { appendUriParams, defaultLineUriParams, lineUriParams, parseUriParams } from '../../lib/policy/uri-params.js';

t.test('parameters are appended once, never duplicating one the URI has', async (t) => {
  t.equal(appendUriParams('sip:123@gw.example', parseUriParams('user=phone')), 'sip:123@gw.example;user=phone');
  t.equal(appendUriParams('sip:123@gw.example;user=phone', parseUriParams('user=phone')), 'sip:123@gw.example;user=phone');
  t.equal(appendUriParams('sip:123@gw.example;USER=phone', parseUriParams('user=phone')), 'sip:123@gw.example;USER=phone', 'names compare case-insensitively; the URI is left as it was');
  t.equal(appendUriParams('sip:123@gw.example;transport=tcp', parseUriParams(';user=phone;x-a=1')), 'sip:123@gw.example;transport=tcp;user=phone;x-a=1');
  t.equal(appendUriParams('sip:123@gw.example', parseUriParams('')), 'sip:123@gw.example');
  t.equal(appendUriParams('tel:+123', parseUriParams('user=phone')), 'tel:+123', 'only SIP URIs');
});

t.test('line default by locale; an explicit empty value overrides it', async (t) => {
  for (const l of ['zh', 'zh-CN', 'zh-TW', 'ZH-hans-CN']) t.equal(defaultLineUriParams(l), 'user=phone', l);
  for (const l of ['en', 'en-US', 'zu', 'de']) t.equal(defaultLineUriParams(l), '', l);
  t.same(lineUriParams(undefined, 'zh'), [['user', 'phone']]);
  t.same(lineUriParams('', 'zh'), []);
  t.same(lineUriParams('x=1', 'zh'), [['x', '1']]);
});
