// The demo module's front door: loading the synthetic place into the database (geography, the
// care network, households, their records and every module's demo data) and the named demo
// sign-ins, one per role, for `joinery demo`. Nothing else in Joinery depends on it.
export { isPlaceLoaded, loadSyntheticPlace } from './load-place.ts';
export { createDemoAccounts, DEMO_PASSWORD } from './accounts.ts';
