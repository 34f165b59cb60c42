// A real loopback HTTP server standing in for PagerDuty, Slack or any webhook: it records every
// request it receives and answers as the test tells it to.

import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { until } from './waiting.ts';

export interface ReceivedRequest {
  method: string;
  /** Path and query, e.g. `/v2/enqueue`. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body. */
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  body: unknown;
  /** Date.now() when it arrived. */
  at: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  /** Sent as JSON, or as is when a string. */
  body?: unknown;
}

export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>`, plus the path the test wants. */
  readonly origin: string;
  readonly port: number;
  /** Every request so far, in arrival order. */
  readonly received: ReceivedRequest[];
  /** The answers for the next requests, in order; after them, the default answer. */
  answerNext(...answers: Answer[]): void;
  /** The answer once the queued ones are used up (initially 202, as PagerDuty answers). */
  answerAlways(answer: Answer): void;
  /** Waits (in real time) until at least `count` requests have arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

const ACCEPTED: Answer = { status: 202, body: { status: 'success', message: 'Event processed' } };

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedRequest[] = [];
  const queued: Answer[] = [];
  let fallback = ACCEPTED;

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      received.push({
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        text,
        body,
        at: Date.now(),
      });
      const answer = queued.shift() ?? fallback;
      const payload =
        answer.body === undefined
          ? ''
          : typeof answer.body === 'string'
            ? answer.body
            : JSON.stringify(answer.body);
      response.writeHead(answer.status, {
        'content-type': typeof answer.body === 'string' ? 'text/plain' : 'application/json',
        ...answer.headers,
      });
      response.end(payload);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    received,
    answerNext: (...answers) => {
      queued.push(...answers);
    },
    answerAlways: (answer) => {
      fallback = answer;
    },
    waitFor: async (count, timeoutMs = 10_000) => {
      await until(() => received.length >= count, `${count} webhook request(s)`, timeoutMs);
      return received.slice(0, count);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
