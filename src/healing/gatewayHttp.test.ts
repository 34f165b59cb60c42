import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BODY_CHUNKED,
  BODY_LENGTH,
  BODY_NONE,
  BODY_UNTIL_CLOSE,
  CRLF_CRLF,
  type LineRanges,
  METHOD_GET,
  METHOD_HEAD,
  METHOD_OTHER,
  METHOD_POST,
} from './gatewayHttp.ts';
import { ChunkedScanner } from './gatewayChunked.ts';
import { parseRequestHead, RequestHead } from './gatewayRequestHead.ts';
import { parseResponseHead, ResponseHead } from './gatewayResponseHead.ts';

function request(text: string): { status: number; head: RequestHead; buffer: Buffer } {
  const buffer = Buffer.from(text, 'latin1');
  const head = new RequestHead();
  const status = parseRequestHead(buffer, buffer.indexOf(CRLF_CRLF) + 4, head);
  return { status, head, buffer };
}

function response(text: string, headRequest = false): { ok: boolean; head: ResponseHead; buffer: Buffer } {
  const buffer = Buffer.from(text, 'latin1');
  const head = new ResponseHead();
  const ok = parseResponseHead(buffer, buffer.indexOf(CRLF_CRLF) + 4, headRequest, head);
  return { ok, head, buffer };
}

/** The head with its dropped lines left out. */
function kept(buffer: Buffer, headEnd: number, dropped: LineRanges): string {
  const out = Buffer.alloc(headEnd - dropped.bytes());
  const end = dropped.copyKept(buffer, 0, headEnd, out, 0);
  return out.toString('latin1', 0, end);
}

describe('parseRequestHead', () => {
  it('reads a plain GET', () => {
    const { status, head } = request('GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\n\r\n');
    assert.equal(status, 0);
    assert.equal(head.method, METHOD_GET);
    assert.equal(head.idempotent, true);
    assert.equal(head.http10, false);
    assert.equal(head.keepAlive, true);
    assert.equal(head.body, BODY_NONE);
    assert.equal(head.dropped.count, 0);
  });

  it('tells methods apart and which are idempotent', () => {
    assert.equal(request('POST / HTTP/1.1\r\nHost: h\r\n\r\n').head.idempotent, false);
    assert.equal(request('POST / HTTP/1.1\r\nHost: h\r\n\r\n').head.method, METHOD_POST);
    assert.equal(request('PATCH / HTTP/1.1\r\nHost: h\r\n\r\n').head.idempotent, false);
    assert.equal(request('HEAD / HTTP/1.1\r\nHost: h\r\n\r\n').head.method, METHOD_HEAD);
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']) {
      assert.equal(request(`${method} / HTTP/1.1\r\nHost: h\r\n\r\n`).head.idempotent, true, method);
    }
    const custom = request('PURGE / HTTP/1.1\r\nHost: h\r\n\r\n').head;
    assert.equal(custom.method, METHOD_OTHER);
    assert.equal(custom.idempotent, false);
  });

  it('reads the body framing', () => {
    const sized = request('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 42\r\n\r\n').head;
    assert.equal(sized.body, BODY_LENGTH);
    assert.equal(sized.contentLength, 42);
    assert.equal(request('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n').head.body, BODY_NONE);
    assert.equal(
      request('POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n').head.body,
      BODY_CHUNKED,
    );
  });

  it('refuses ambiguous framing and malformed heads (request smuggling)', () => {
    const cases: [string, number][] = [
      ['POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
      ['POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n', 400],
      ['POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n', 400],
      ['POST / HTTP/1.1\r\nHost: h\r\nContent-Length : 5\r\n\r\n', 400],
      ['POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 501],
      ['POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
      ['POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\n\r\n', 400],
      ['GET  / HTTP/1.1\r\nHost: h\r\n\r\n', 400],
      ['GET / HTTP/2.0\r\nHost: h\r\n\r\n', 505],
      ['GET / FTP/1.1\r\nHost: h\r\n\r\n', 400],
      ['CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n', 405],
    ];
    for (const [text, expected] of cases) {
      assert.equal(request(text).status, expected, JSON.stringify(text));
    }
  });

  it('keeps an HTTP/1.0 connection alive only when asked', () => {
    assert.equal(request('GET / HTTP/1.0\r\n\r\n').head.keepAlive, false);
    assert.equal(request('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n').head.keepAlive, true);
    assert.equal(request('GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n').head.keepAlive, false);
  });

  it('drops hop-by-hop headers, including those the Connection header names', () => {
    const { head, buffer } = request(
      'GET / HTTP/1.1\r\nX-Secret: 1\r\nHost: h\r\nConnection: keep-alive, X-Secret\r\nKeep-Alive: timeout=5\r\n' +
        'TE: trailers\r\nProxy-Connection: keep-alive\r\nAccept: */*\r\nUpgrade: h2c\r\n\r\n',
    );
    assert.equal(
      kept(buffer, head.headEnd, head.dropped),
      'GET / HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n',
    );
    assert.equal(head.upgrade, false);
  });

  it('keeps Upgrade for an upgrade request', () => {
    const { head, buffer } = request(
      'GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
    );
    assert.equal(head.upgrade, true);
    assert.equal(
      kept(buffer, head.headEnd, head.dropped),
      'GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n',
    );
  });

  it('finds Host and the forwarding headers a proxy in front already set', () => {
    const { head, buffer } = request(
      'GET / HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\n\r\n',
    );
    assert.equal(buffer.toString('latin1', head.hostStart, head.hostEnd), 'shop.example');
    assert.equal(buffer.toString('latin1', head.forwardedForStart, head.forwardedForEnd), '10.0.0.1');
    assert.equal(head.hasForwardedProto, true);
    assert.equal(head.hasForwardedHost, false);
  });

  it('refuses more than 200 header lines', () => {
    const lines = Array.from({ length: 201 }, (_, i) => `X-${i}: v\r\n`).join('');
    assert.equal(request(`GET / HTTP/1.1\r\nHost: h\r\n${lines}\r\n`).status, 431);
  });
});

describe('parseResponseHead', () => {
  it('reads status and framing', () => {
    const sized = response('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n').head;
    assert.equal(sized.status, 200);
    assert.equal(sized.body, BODY_LENGTH);
    assert.equal(sized.contentLength, 5);
    assert.equal(sized.close, false);
    assert.equal(response('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n').head.body, BODY_CHUNKED);
    const unsized = response('HTTP/1.1 200 OK\r\n\r\n').head;
    assert.equal(unsized.body, BODY_UNTIL_CLOSE);
    assert.equal(unsized.close, true);
    assert.equal(response('HTTP/1.1 204 No Content\r\n\r\n').head.body, BODY_NONE);
    assert.equal(response('HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n').head.body, BODY_NONE);
    assert.equal(response('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n', true).head.body, BODY_NONE);
    assert.equal(response('HTTP/1.1 500\r\nContent-Length: 0\r\n\r\n').head.status, 500);
  });

  it('reads Connection: close and the keep-alive timeout hint', () => {
    assert.equal(
      response('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').head.close,
      true,
    );
    const hinted = response(
      'HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n',
    ).head;
    assert.equal(hinted.keepAliveMs, 5000);
    assert.equal(response('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').head.close, true);
    assert.equal(
      response('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n').head.close,
      false,
    );
  });

  it('drops hop-by-hop headers, and Content-Length when Transfer-Encoding is there too', () => {
    const { head, buffer } = response(
      'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n' +
        'Transfer-Encoding: chunked\r\nX-Id: 7\r\n\r\n',
    );
    assert.equal(head.body, BODY_CHUNKED);
    assert.equal(
      kept(buffer, head.headEnd, head.dropped),
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Id: 7\r\n\r\n',
    );
  });

  it('rejects what is not an HTTP/1.x response', () => {
    assert.equal(response('HTTP/2 200 OK\r\n\r\n').ok, false);
    assert.equal(response('HTTP/1.1 999 What\r\n\r\n').ok, false);
    assert.equal(response('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n').ok, false);
    assert.equal(response('HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n').ok, false);
  });
});

describe('ChunkedScanner', () => {
  const body = Buffer.from(
    '4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\nNEXT',
    'latin1',
  );
  const end = body.length - 4;

  it('finds the end of a chunked body, trailers included', () => {
    assert.equal(new ChunkedScanner().scan(body, 0, body.length), end);
  });

  it('finds the same end whatever the pieces the bytes come in', () => {
    for (let size = 1; size <= 7; size++) {
      const scanner = new ChunkedScanner();
      let found = -1;
      for (let start = 0; start < body.length && found < 0; start += size) {
        const piece = body.subarray(start, Math.min(start + size, body.length));
        const result = scanner.scan(piece, 0, piece.length);
        assert.notEqual(result, -2);
        if (result >= 0) found = start + result;
      }
      assert.equal(found, end, `pieces of ${size}`);
    }
  });

  it('rejects malformed framing', () => {
    for (const text of ['x\r\n', '4\r\nWikiX\r\n', '4\nWiki', '0\r\n\r\r']) {
      const bytes = Buffer.from(text, 'latin1');
      assert.equal(new ChunkedScanner().scan(bytes, 0, bytes.length), -2, JSON.stringify(text));
    }
  });

  it('says when the body goes on', () => {
    const bytes = Buffer.from('10\r\nonly part', 'latin1');
    assert.equal(new ChunkedScanner().scan(bytes, 0, bytes.length), -1);
  });
});
