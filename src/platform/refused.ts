/**
 * Input a domain module refuses, with the HTTP status it stands for: 400 a malformed value,
 * 404 an unknown reference, 409 a clash, 422 a rule of the domain. The message is shown to the
 * user as it is, so it names fields and rules, never a person's data.
 */
export class RefusedInput extends Error {
  readonly status: 400 | 404 | 409 | 422;
  constructor(status: 400 | 404 | 409 | 422, message: string) {
    super(message);
    this.status = status;
  }
}
