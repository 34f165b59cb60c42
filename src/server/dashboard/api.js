// Talking to rebound's API from the browser: JSON calls that show `{ error: { code, message } }`
// answers as errors, the token asked once on a 401 and kept in sessionStorage (no cookies), and
// the live /api/stream read with fetch (so it can carry the token) and reconnected with backoff.

/* global document, sessionStorage, fetch, setTimeout, TextDecoderStream, AbortController */

const TOKEN_KEY = 'rebound.token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

function headers(extra = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
}

/** The token form; resolves true when a token was given, false when cancelled. */
let asking;
export function askToken() {
  asking ??= new Promise((resolve) => {
    const dialog = document.getElementById('token-dialog');
    const form = document.getElementById('token-form');
    form.reset();
    dialog.addEventListener(
      'close',
      () => {
        asking = undefined;
        const token = form.elements.token.value.trim();
        if (dialog.returnValue === 'ok' && token) {
          sessionStorage.setItem(TOKEN_KEY, token);
          resolve(true);
        } else resolve(false);
      },
      { once: true },
    );
    dialog.showModal();
  });
  return asking;
}

async function errorOf(response) {
  let code = `HTTP_${response.status}`;
  let message = response.statusText || `HTTP ${response.status}`;
  try {
    const body = await response.json();
    if (body?.error) ({ code, message } = body.error);
  } catch {
    // Not JSON: keep the status line.
  }
  return new ApiError(response.status, code, message);
}

/** GET or POST `path`; on a 401 asks for the token once and retries; throws ApiError otherwise. */
export async function api(path, { method = 'GET', body } = {}) {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(path, {
      method,
      headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401 && attempt === 0 && (await askToken())) continue;
    if (!response.ok) throw await errorOf(response);
    return response.json();
  }
}

/**
 * Reads /api/stream for ever: `onEvent(name, data)` for each event, `onStatus('live' |
 * 'reconnecting' | 'error', detail?)` as the connection changes. Answers a function that stops it.
 */
export function openStream(onEvent, onStatus) {
  let stopped = false;
  let controller;
  let delayMs = 500;
  async function connect() {
    controller = new AbortController();
    try {
      const response = await fetch('/api/stream', { headers: headers(), signal: controller.signal });
      if (response.status === 401 && (await askToken())) return void connect();
      if (!response.ok) throw await errorOf(response);
      onStatus('live');
      delayMs = 500;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          dispatch(buffer.slice(0, end), onEvent);
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (error) {
      if (stopped) return;
      onStatus('error', error);
    }
    if (stopped) return;
    onStatus('reconnecting');
    setTimeout(connect, delayMs);
    delayMs = Math.min(delayMs * 2, 10_000);
  }
  void connect();
  return () => {
    stopped = true;
    controller?.abort();
  };
}

function dispatch(block, onEvent) {
  let name = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue; // a heartbeat comment
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') name = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length > 0) onEvent(name, JSON.parse(data.join('\n')));
}
