// The shapes the API's router works with: a request and a response independent of node:http, so
// every route runs the same in-process (tests) and behind a real socket (server.ts).

/** Where a body comes from: bytes already in hand (tests), or a stream read only up to the limit. */
export type BodySource = string | Uint8Array | AsyncIterable<Uint8Array>;

export interface ApiRequest {
  /** Upper case, e.g. `GET`. */
  readonly method: string;
  /** Path and query as sent, e.g. `/api/healing?limit=5`. */
  readonly url: string;
  /** Lower-case names, as node:http gives them. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly body?: BodySource;
}

export interface ApiResponse {
  readonly status: number;
  /** Header names as sent; `content-type` always present. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /**
   * A body written over time instead of `body` (Server-Sent Events): called once the headers are
   * sent, with a writer; returns the function that stops it (the client went, or the server closes).
   */
  readonly stream?: (write: (chunk: string) => void) => () => void;
}

export type ApiHandler = (request: ApiRequest) => Promise<ApiResponse>;

export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a route's handler receives: the request already authorized, its body read and parsed. */
export interface RouteContext {
  /** `:name` segments of the route's path, percent-decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The parsed JSON body of a `body: 'json'` route; `undefined` otherwise. */
  readonly body: unknown;
  readonly request: ApiRequest;
}

export interface Route {
  readonly method: RouteMethod;
  /** E.g. `/api/services/:name/restart`; a `:name` segment matches any one path segment. */
  readonly path: string;
  /**
   * `json`: a JSON body is required; `none` (default): no body, or an empty JSON object (what
   * browsers' fetch helpers often send).
   */
  readonly body?: 'json' | 'none';
  /** Query parameters the route reads; any other is refused (400). Default: none. */
  readonly query?: readonly string[];
  handle(context: RouteContext): Promise<ApiResponse> | ApiResponse;
}
