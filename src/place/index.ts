// The place module's front door: the one definition of a resident, aggregate figures about the
// place, and locality care organisations (each locality's lead organisation and partners, the
// locality view for its leaders and the place view comparing localities). Other modules import
// only this file.
// The module's tables first: the migration registry reads them while its other files may still load.
export { placeMigrations, type PlaceTables } from './schema.ts';
export { residents, residentsWithArea, RESIDENTS_HINT } from './residents.ts';
export { needsByDeprivation, placeSummary, populationByLocality, type DecileRow, type LocalityRow, type PlaceSummary } from './queries.ts';
export { localitiesOfOrganisation, localityLeadership, seedLocalityOrganisations, type LocalityLeadership } from './localities.ts';
export { registerPlaceRoutes } from './routes.ts';
// Where a small area or a postcode lies, localities' names by id, for other modules (fragments to embed, or batched).
export {
  addPlace,
  localitiesByName,
  localitiesOfSmallAreas,
  localityIdOf,
  localityIdOfPostcode,
  localityNameById,
  localityNameOf,
  localityNames,
  localityNamesById,
  localityOfPostcode,
  personRecordsHomedIn,
  placeName,
  postcodePoint,
  postcodePoints,
  smallAreasByDeprivation,
} from './areas.ts';
