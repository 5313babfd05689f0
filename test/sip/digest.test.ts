import { createHash } from 'node:crypto';
import t from 'tap';
import { computeResponse, decodeWireText, digestHash, ha1, parseDigestAlgorithm } from '../../lib/sip/digest.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

t.test('RFC 2617 3.5 example: MD5, qop=auth', async (t) => {
  t.equal(computeResponse({
    algorithm: 'MD5', username: 'Mufasa', realm: 'testrealm@host.com', password: 'Circle Of Life',
    method: 'GET', uri: '/dir/index.html', nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
    nc: '00000001', cnonce: '0a4f113b', qop: 'auth',
  }), '6629fae49393a05397450978507c4ef1');
});

t.test('RFC 7616 3.9.1 example: SHA-256 and MD5 over the same challenge', async (t) => {
  const input = {
    username: 'Mufasa', realm: 'http-auth@example.org', password: 'Circle of Life', method: 'GET',
    uri: '/dir/index.html', nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v', nc: '00000001',
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ', qop: 'auth',
  };
  t.equal(computeResponse({ ...input, algorithm: 'SHA-256' }), '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  t.equal(computeResponse({ ...input, algorithm: 'MD5' }), '8ca523f5e9506fed4657c9700eebdbec');
});

t.test('RFC 2069 style (no qop) and -sess HA1', async (t) => {
  const a1 = md5('bob:example.com:pw');
  const a2 = md5('REGISTER:sip:example.com');
  t.equal(computeResponse({ algorithm: 'MD5', username: 'bob', realm: 'example.com', password: 'pw', method: 'REGISTER', uri: 'sip:example.com', nonce: 'n1' }),
    md5(`${a1}:n1:${a2}`));
  t.equal(ha1({ algorithm: 'MD5-sess', username: 'bob', realm: 'example.com', password: 'pw', nonce: 'n1', cnonce: 'c1' }), md5(`${a1}:n1:c1`));
  t.equal(digestHash('SHA-256-sess', 'abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  t.throws(() => computeResponse({ algorithm: 'MD5', username: 'u', realm: 'r', password: 'p', method: 'M', uri: 'u', nonce: 'n', qop: 'auth-int' }), { code: 'SIP_ERR_AUTH' });
});

t.test('algorithm names are case-insensitive; unknown ones are refused', async (t) => {
  t.equal(parseDigestAlgorithm('sha-256'), 'SHA-256');
  t.equal(parseDigestAlgorithm('MD5-SESS'), 'MD5-sess');
  t.equal(parseDigestAlgorithm('SHA-512-256'), undefined);
});

t.test('wire text (latin1 bytes) decodes to the UTF-8 string', async (t) => {
  t.equal(decodeWireText('alice'), 'alice');
  t.equal(decodeWireText(Buffer.from('jürgen', 'utf8').toString('latin1')), 'jürgen');
});
