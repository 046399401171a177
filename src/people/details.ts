// Changing a person's own details (name, date of birth, sex, NHS number, contact details) for
// another module that has already decided the actor may write them (FHIR's Patient update).
// Writes take the caller's transaction.
import type { Transaction } from 'kysely';
import type { Database } from '../schema.ts';

export interface PersonDetailsChange {
  givenName: string;
  middleName: string | null;
  familyName: string;
  birthDate: string | null;
  sex: 'female' | 'male' | null;
  nhsNumber: string | null;
  phone: string | null;
  email: string | null;
}

/** Sets the person's details to these (every field, absent ones to null). */
export async function setPersonDetails(db: Transaction<Database>, personId: string, change: PersonDetailsChange): Promise<void> {
  await db
    .updateTable('persons')
    .set({
      given_name: change.givenName,
      middle_name: change.middleName,
      family_name: change.familyName,
      birth_date: change.birthDate,
      sex: change.sex,
      nhs_number: change.nhsNumber,
      phone: change.phone,
      email: change.email,
    })
    .where('id', '=', personId)
    .execute();
}
