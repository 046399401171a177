// The identifier systems an agency's FHIR Patient is read by: the NHS number, and the agency's own
// record id under its source code. The fhir module writes the same systems on the Patients it
// serves, and takes them from here. Imports nothing.
export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
export const SOURCE_SYSTEM_PREFIX = 'urn:joinery:source:';
