/**
 * `respond`: the app's own status and body for every JSON answer of the router.
 * `/forgot`'s success is mapped once, when the router is built, so nothing about
 * an account can reach `respond` or its timing.
 */
import type { Request, Response } from 'express';
import { PasswordResetError } from '../core/errors';
import { secretsOfBody, toEventError, type EventError, type EventSink } from '../core/events';
import type { EndpointName, RespondAnswer, RespondOutcome } from '../options/types';
import type { EndpointAnswer } from './endpoints';
import { sendJson } from './responses';

type Respond = (outcome: RespondOutcome) => RespondAnswer;

/** An answer ready to write; no `json`: an empty body. */
interface Written {
  status: number;
  json?: string;
}

const INTERNAL_ERROR = new PasswordResetError('INTERNAL_ERROR');
const INTERNAL_ERROR_ANSWER: Written = { status: INTERNAL_ERROR.status, json: JSON.stringify(INTERNAL_ERROR) };

class InvalidAnswerError extends Error {
  override name = 'InvalidAnswerError';
}

/** Checks and serialises what `respond` returned; throws for anything that cannot be sent as it is. */
function written(answer: unknown): Written {
  if (typeof answer !== 'object' || answer === null)
    throw new InvalidAnswerError(
      `respond must return { status, body? }, got ${answer === null ? 'null' : typeof answer}`,
    );
  const { status, body } = answer as { status?: unknown; body?: unknown };
  // 1xx are not final answers, and 204/304 cannot carry a body: either would desync a kept-alive connection.
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599)
    throw new InvalidAnswerError('respond must return an integer status from 200 to 599');
  if (body === undefined) return { status };
  if (status === 204 || status === 304) throw new InvalidAnswerError(`respond returned a body with status ${status}`);
  const json = JSON.stringify(body) as string | undefined;
  if (json === undefined) throw new InvalidAnswerError('respond returned a body that is not JSON');
  return { status, json };
}

function write(res: Response, answer: Written): void {
  if (answer.json !== undefined) return sendJson(res, answer.status, answer.json);
  res.statusCode = answer.status;
  res.setHeader('Content-Length', 0);
  res.end();
}

/** Writes the router's JSON answers, through `respond` when the app gave one. */
export class Answers {
  private readonly forgot: Written;
  /** Why `respond` failed for `/forgot`'s success, if it did: then every `/forgot` is the default 500. */
  private readonly forgotFailure?: EventError;

  constructor(
    private readonly respond: Respond | undefined,
    private readonly events: EventSink,
    forgotAnswer: EndpointAnswer,
    private readonly secretKeys: readonly string[],
  ) {
    const outcome = { endpoint: 'forgot', status: 202, body: forgotAnswer.body } as RespondOutcome;
    if (!respond) {
      this.forgot = { status: forgotAnswer.status, json: JSON.stringify(forgotAnswer.body) };
      return;
    }
    try {
      this.forgot = written(respond(outcome));
    } catch (error) {
      // SPEC: a throwing `respond` gives the default 500. The same for every address, so nothing is told; the
      // failure is an `error` event now and on every /forgot, and no work is started behind such an answer.
      this.forgot = INTERNAL_ERROR_ANSWER;
      this.forgotFailure = toEventError(error);
      events.emit({ type: 'error', stage: 'respond', error: this.forgotFailure });
    }
  }

  /** Writes a success; `false` when it had to be the default 500 instead (then nothing may follow it). */
  success(req: Request, res: Response, endpoint: EndpointName, answer: EndpointAnswer): boolean {
    if (endpoint === 'forgot') {
      write(res, this.forgot);
      if (this.forgotFailure)
        this.events.emit({ type: 'error', stage: 'respond', error: this.forgotFailure, ip: req.ip });
      return !this.forgotFailure;
    }
    if (!this.respond) {
      sendJson(res, answer.status, JSON.stringify(answer.body));
      return true;
    }
    const outcome = { endpoint, status: answer.status, body: answer.body } as RespondOutcome;
    const mapped = this.mapped(req, outcome);
    write(res, mapped);
    return mapped !== INTERNAL_ERROR_ANSWER;
  }

  /** `endpoint` is undefined for answers outside the endpoints (`/openapi.json`): those keep the default shape. */
  error(req: Request, res: Response, endpoint: EndpointName | undefined, error: PasswordResetError): void {
    if (res.headersSent) return;
    if (!this.respond || endpoint === undefined) return sendJson(res, error.status, JSON.stringify(error));
    const outcome = { endpoint, status: error.status, error: error.toJSON().error } as RespondOutcome;
    write(res, this.mapped(req, outcome));
  }

  private mapped(req: Request, outcome: RespondOutcome): Written {
    try {
      return written(this.respond!(outcome));
    } catch (error) {
      this.events.emit({
        type: 'error',
        stage: 'respond',
        error: toEventError(error, secretsOfBody(req.body, this.secretKeys)),
        ip: req.ip,
      });
      return INTERNAL_ERROR_ANSWER;
    }
  }
}
