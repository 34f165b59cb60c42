// Who may call the API: the token rule of SPEC 4.2a and the bearer comparison.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bearerMatches, isAllowed } from './auth.ts';

describe('bearerMatches', () => {
  it('accepts exactly `Bearer <token>`, the scheme in any case', () => {
    assert.equal(bearerMatches('Bearer abc', 'abc'), true);
    assert.equal(bearerMatches('bearer abc', 'abc'), true);
    assert.equal(bearerMatches('BEARER  abc ', 'abc'), true);
  });

  it('refuses anything else', () => {
    for (const header of [
      undefined,
      '',
      'abc',
      'Bearer',
      'Bearer ',
      'Bearer ab',
      'Bearer abcd',
      'Basic abc',
      'Bearer abc def',
    ]) {
      assert.equal(bearerMatches(header, 'abc'), false, String(header));
    }
    assert.equal(bearerMatches(['Bearer abc', 'Bearer abc'], 'abc'), false, 'a repeated header is refused');
  });
});

describe('isAllowed', () => {
  it('allows everything without a token', () => {
    assert.equal(isAllowed({ token: undefined, loopbackOnly: false }, true, undefined), true);
    assert.equal(isAllowed({ token: '', loopbackOnly: false }, true, undefined), true);
  });

  it('with a token: mutating calls need it; reads need it unless loopback-only', () => {
    const loopback = { token: 't', loopbackOnly: true };
    const exposed = { token: 't', loopbackOnly: false };
    assert.equal(isAllowed(loopback, false, undefined), true);
    assert.equal(isAllowed(loopback, true, undefined), false);
    assert.equal(isAllowed(loopback, true, 'Bearer t'), true);
    assert.equal(isAllowed(exposed, false, undefined), false);
    assert.equal(isAllowed(exposed, false, 'Bearer t'), true);
    assert.equal(isAllowed(exposed, true, 'Bearer x'), false);
  });
});
