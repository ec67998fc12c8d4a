/**
 * What the admin API's route modules (task-routes.ts, workflow-routes.ts, topic-routes.ts)
 * share: an answer as a status and a JSON body, the error body `{ error: { code, message,
 * field? } }`, and reading a JSON request body.
 *
 * Owns: those shapes. Does not own sending or access checks (admin-server.ts).
 */

/** What a route answers: a status and a JSON body. */
export interface RouteAnswer {
  status: number;
  body: unknown;
}

/** An error answer: `{ error: { code, message, field? } }` with `status`. */
export function failure(status: number, code: string, message: string, field?: string): RouteAnswer {
  return { status, body: { error: field === undefined ? { code, message } : { code, message, field } } };
}

/**
 * The request's body parsed as JSON (an empty body is `null`), or undefined when it is not
 * JSON — or could not be read (past its limit: admin-server.ts answers that 413 itself).
 */
export async function jsonBody(read: () => Promise<string>): Promise<{ value: unknown } | undefined> {
  try {
    const text = await read();
    return { value: text.trim() === '' ? null : JSON.parse(text) };
  } catch {
    return undefined;
  }
}
