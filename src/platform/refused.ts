/**
 * The one error model. Every refusal (a request the system will not carry out, for a reason the
 * user can act on) extends `Refusal`, which carries the HTTP status it stands for and a message
 * shown to the user as it is: it names fields and rules, never a person's data. The web, JSON API,
 * ORUK and FHIR error handlers each map a `Refusal` once (status and message; FHIR adds its issue
 * code), so a refusal escaping any route is a 4xx answer, never a 500. Anything else thrown is a
 * failure: logged by reference, answered with 500.
 */
export class Refusal extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = new.target.name;
    this.status = status;
  }
  /** Fastify reads `statusCode` from errors it is handed. */
  get statusCode(): number {
    return this.status;
  }
}

/**
 * Input a domain module refuses: 400 a malformed value, 404 an unknown reference, 409 a clash,
 * 422 a rule of the domain.
 */
export class RefusedInput extends Refusal {
  declare readonly status: 400 | 404 | 409 | 422;
  constructor(status: 400 | 404 | 409 | 422, message: string) {
    super(status, message);
  }
}

/** An action the user's role or relationships do not allow (403). */
export class NotAllowed extends Refusal {
  constructor(message: string) {
    super(403, message);
  }
}
