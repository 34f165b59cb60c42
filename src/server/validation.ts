// Strict validation of request bodies and query parameters, with every problem listed by path.

import type { z } from 'zod';
import { type ControlPlane, UnknownServiceError } from '../healing/index.ts';
import { badRequest, type RequestProblem } from './responses.ts';

/** The value as the schema parses it, or a 400 listing every problem with its path. */
export function parseWith<Schema extends z.ZodType>(schema: Schema, value: unknown): z.output<Schema> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw invalidBody(
    result.error.issues.map((issue) => ({
      path: issue.path.map(String).join('.'),
      message: issue.message,
    })),
  );
}

/** A 400 for a body whose problems a schema listed. */
export function invalidBody(problems: readonly RequestProblem[]): Error {
  const first = problems[0];
  const summary = first ? `${first.path === '' ? 'body' : first.path}: ${first.message}` : 'invalid body';
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return badRequest(`invalid request body: ${summary}${more}`, problems);
}

/** Throws UnknownServiceError (404) unless the config has a service of that name. */
export function requireService(controlPlane: ControlPlane, name: string): void {
  if (!Object.hasOwn(controlPlane.config.services, name)) throw new UnknownServiceError(name);
}
