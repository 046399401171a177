// The place module's front door: the one definition of a resident, aggregate figures about the
// place, and locality care organisations (each locality's lead organisation and partners). It is
// geography every module may read: the locality pages, which also show insight's measures and
// budgets' allocations, are the insight module's. Other modules import only this file.
// The module's tables first: the migration registry reads them while its other files may still load.
export { placeMigrations, type PlaceTables } from './schema.ts';
export { residents, residentsWithArea, RESIDENTS_HINT } from './residents.ts';
export { needsByDeprivation, placeSummary, populationByLocality, type DecileRow, type LocalityRow, type PlaceSummary } from './queries.ts';
export { localitiesOfOrganisation, localityLeadership, seedLocalityOrganisations, type LocalityLeadership } from './localities.ts';
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
