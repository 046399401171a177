// The synth module's front door: the synthetic place generator (a place frame, then households
// one at a time, deterministic for a seed), its types, the seeded random streams demo seeding
// draws from, and writing a whole place as CSV files. It knows no database and no one's records.
export { createPlaceFrame, generateHouseholds } from './generate.ts';
export type { GenerateOptions, HouseholdBundle, NeedCode, PlaceFrame } from './types.ts';
export { streamFor, type Rng } from './random.ts';
export { writePlaceCsv } from './write-csv.ts';
