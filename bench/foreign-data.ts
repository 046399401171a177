// Foreign test data for the person index: labelled person files in shapes Joinery's own
// generator (src/synth) never writes, made by an independent corruptor so that linkage
// is not tuned to the data it was built with. Ideas from FEBRL's documented error model
// (Christen 2005: originals, then duplicates with a few modifications each: typos by
// keyboard neighbour, insertions, deletions, transpositions, missing values, swapped
// fields, phonetic variants), plus what UK agency extracts add: no NHS numbers, names
// written the other way round, day and month transposed, typos in emails and phones,
// towns instead of postcodes, many people sharing a common name and birth year.
//
//   node bench/foreign-data.ts --records 1000 --seed 1 --shape A --out DIR
//
// Writes DIR/records.csv and DIR/truth.csv (record_id,cluster_id) and prints JSON with the
// `joinery link` arguments that fit the shape. Shapes:
//   A  id, first_name, last_name, dob (ISO), city, email                       (no NHS number)
//   B  ref, forename, surname, date_of_birth (DD/MM/YYYY), gender, mobile, address, town
//   H  a register of historical people: unique_id, full_name (with titles and middle names),
//      first_and_surname, first_name, surname, dob (ISO; a fifth known only to the year, written
//      as 1 January), birth_place, postcode_fake, gender, occupation. Modelled on the error model
//      that published benchmark sets of this kind document (every duplicate's birth date moved a
//      little or mistyped, names replaced by aliases and nicknames or cut short, places and
//      postcodes moved nearby, occupations changed, more errors the more copies a person has), and
//      on what makes such registers hard: families whose members share a surname, a birth place,
//      a postcode and an occupation, sons named after fathers a generation apart, and many
//      namesakes born in the same town in the same year.
// Nothing here imports src/: the generator must not share assumptions with the engine.

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

export type Shape = 'A' | 'B' | 'H';

/** mulberry32: small, fast, seeded. */
function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws from a list weighted by Zipf's law (rank^-s): a few very common values, a long tail. */
class Zipf<T> {
  private readonly cumulative: Float64Array;
  readonly items: readonly T[];
  constructor(items: readonly T[], exponent: number) {
    this.items = items;
    this.cumulative = new Float64Array(items.length);
    let total = 0;
    items.forEach((_, rank) => {
      total += 1 / (rank + 1) ** exponent;
      this.cumulative[rank] = total;
    });
    for (let i = 0; i < items.length; i++) this.cumulative[i]! /= total;
  }
  draw(random: () => number): T {
    const r = random();
    let low = 0;
    let high = this.items.length - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.cumulative[mid]! < r) low = mid + 1;
      else high = mid;
    }
    return this.items[low]!;
  }
}

// Frequency order roughly as in England and Wales registers; enough of a head that
// many people share a name.
const MALE = (
  'james john david michael robert william richard thomas mark paul peter christopher daniel andrew steven ' +
  'george stephen kevin matthew anthony ian simon brian gary mohammed jack harry oliver charlie joseph alan colin ' +
  'keith graham martin philip jason lee adam ryan liam samuel benjamin luke scott craig dean wayne nathan jamie ' +
  'kyle connor callum lewis aaron tyler ali ahmed omar hassan krzysztof piotr tomasz darius ravi sanjay arjun ' +
  'kwame chinedu tariq declan seamus rhys dylan gareth owen'
).split(' ');
const FEMALE = (
  'mary margaret susan sarah elizabeth patricia linda karen helen julie emma jennifer lisa claire nicola ' +
  'joanne michelle rachel laura amanda jessica emily sophie chloe hannah olivia amelia isla ava mia grace lucy ' +
  'charlotte rebecca samantha victoria katherine catherine louise gemma kelly stacey jade leanne donna tracey ' +
  'dawn angela christine janet ann anne jean pauline fatima aisha ayesha maryam zainab anna agnieszka katarzyna ' +
  'priya sunita amara ngozi siobhan niamh bethan ffion megan'
).split(' ');
const FAMILY = (
  'smith jones williams taylor brown davies evans wilson thomas johnson roberts robinson thompson wright ' +
  'walker white edwards hughes green hall lewis harris clarke patel jackson wood turner martin cooper hill ward ' +
  'morris moore clark lee king baker harrison morgan allen james scott phillips watson davis parker price bennett ' +
  'young griffiths mitchell kelly cook carter richardson bailey collins bell shaw murphy miller cox richards khan ' +
  'marshall anderson simpson ellis adams singh begum wilkinson foster chapman powell webb rogers gray mason ali ' +
  'hunt hussain campbell matthews owen palmer holmes mills barnes knight lloyd butler russell barker fisher ' +
  'stevens jenkins murray dixon harvey graham pearson ahmed fletcher walsh kaur gibson howard andrews stewart ' +
  'elliott reynolds saunders payne fox ford pearce day brooks west lawrence cole atkinson bradley spencer gill ' +
  'dawson ball burton obrien watts rose booth perry ryan grant wells armstrong francis rees hayes hart hudson ' +
  'newman barrett webster hunter gregory carr lowe page marsh riley dunn woods parsons berry stone reid holland ' +
  'hawkins harding porter robertson newton oliver reed kennedy williamson bird gardner shah dean lane cooke ' +
  'bates henderson parry burgess bishop walton burns nicholson shepherd ross cross long freeman warren nicholls ' +
  'hamilton byrne sutton mcdonald yates hodgson robson curtis hopkins oconnor harper coleman watkins moss ' +
  "mccarthy chambers o'neill griffin sharp hardy wheeler potter osborne johnston gordon doyle wallace george " +
  'jordan hutchinson rowe burke may pritchard gilbert willis higgins read miles stevenson stephenson hammond ' +
  'arnold buckley walters hewitt barber nelson slater austin sullivan whitehead mann frost lambert stephens ' +
  'blake akhtar lynch goodwin barton woodward thomson cunningham quinn barnett baxter bibi clayton nash ' +
  'greenwood jennings holt kemp poole gallagher bond stokes tucker davidson fowler heath norman middleton ' +
  'lawson banks french stanley jarvis gibbs ferguson hayward carroll douglas dickinson todd barlow peters ' +
  'lucas knowles hartley miah simmons morton alexander field nowak kowalski wisniewski okafor adeyemi mensah ' +
  'nguyen chen wang li zhang kim'
).split(' ');
// Compound surnames for a long tail of rare names (as most real surnames are).
const TAIL_START = 'ash black brad brook cald cham crab dun fair gold green hal hart hol kirk lang mar north oak pen '.trim().split(' ');
const TAIL_END = 'bury by combe croft dale field ford gate ham hurst ley low more ridge shaw stead thorpe ton well wick wood worth'.split(
  ' ',
);

const CITIES = (
  'london birmingham manchester leeds liverpool sheffield bristol leicester coventry bradford nottingham ' +
  'hull newcastle stoke southampton derby portsmouth plymouth wolverhampton reading northampton luton bolton ' +
  'sunderland norwich walsall bournemouth swindon huddersfield oldham middlesbrough blackpool ipswich york ' +
  'peterborough stockport slough gloucester watford rotherham cambridge exeter colchester wakefield doncaster ' +
  'chester lincoln preston carlisle bath durham worcester hereford salisbury'
).split(' ');
const DOMAINS = [
  'gmail.com',
  'hotmail.co.uk',
  'yahoo.co.uk',
  'outlook.com',
  'btinternet.com',
  'icloud.com',
  'live.co.uk',
  'aol.com',
  'sky.com',
  'virginmedia.com',
];
const STREETS = (
  'high street|station road|church street|church lane|main street|park road|victoria road|green lane|' +
  'manor road|kings road|queens road|new road|mill lane|school lane|the crescent|grange road|north street|' +
  'springfield road|albert road|west street|london road|york road|chapel street|windsor road'
).split('|');
const STREET_ABBREVIATIONS: Record<string, string> = { street: 'st', road: 'rd', lane: 'ln', crescent: 'cres' };
const NICKNAMES: Record<string, string> = {
  james: 'jim',
  john: 'jack',
  robert: 'bob',
  william: 'bill',
  richard: 'dick',
  thomas: 'tom',
  michael: 'mike',
  christopher: 'chris',
  daniel: 'dan',
  andrew: 'andy',
  steven: 'steve',
  anthony: 'tony',
  matthew: 'matt',
  joseph: 'joe',
  samuel: 'sam',
  benjamin: 'ben',
  margaret: 'maggie',
  elizabeth: 'liz',
  patricia: 'pat',
  jennifer: 'jenny',
  katherine: 'kate',
  catherine: 'cathy',
  rebecca: 'becky',
  samantha: 'sam',
  victoria: 'vicky',
};

// Keys next to each other on a QWERTY keyboard (FEBRL's typographical error model).
const KEYBOARD_ROWS = ['1234567890', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm'];
const NEIGHBOURS = new Map<string, string>();
KEYBOARD_ROWS.forEach((row, r) => {
  for (let c = 0; c < row.length; c++) {
    let near = (row[c - 1] ?? '') + (row[c + 1] ?? '');
    for (const other of [KEYBOARD_ROWS[r - 1], KEYBOARD_ROWS[r + 1]])
      if (other) near += (other[c - 1] ?? '') + (other[c] ?? '') + (other[c + 1] ?? '');
    NEIGHBOURS.set(row[c]!, near);
  }
});
// Letters that sound or read alike (FEBRL's phonetic and OCR variations, a few of each).
const SOUND_ALIKE: [string, string][] = [
  ['ph', 'f'],
  ['ck', 'k'],
  ['ee', 'ea'],
  ['ie', 'y'],
  ['ou', 'ow'],
  ['c', 'k'],
  ['s', 'z'],
  ['mm', 'm'],
  ['ll', 'l'],
  ['tt', 't'],
  ['ey', 'y'],
  ['ai', 'ay'],
];

interface Person {
  given: string;
  family: string;
  sex: 'F' | 'M';
  year: number;
  month: number;
  day: number;
  city: string;
  email: string;
  phone: string;
  address: string;
}

interface Row {
  id: string;
  cluster: number;
  given: string;
  family: string;
  /** Year, month, day as written (month and day may be the wrong way round). */
  dob: [number, number, number] | null;
  dobTypo: string | null;
  sex: string;
  city: string;
  email: string;
  phone: string;
  address: string;
  /** Errors this record went through (for reading results by error type). */
  errors: ErrorKind[];
}

/** What each duplicate went through, counted for the summary. */
export type ErrorKind =
  | 'name_typo'
  | 'names_swapped'
  | 'nickname'
  | 'name_blank'
  | 'name_sound_alike'
  | 'day_month_swapped'
  | 'date_digit_typo'
  | 'date_blank'
  | 'email_domain_transposed'
  | 'email_local_typo'
  | 'email_other_domain'
  | 'email_blank'
  | 'phone_typo'
  | 'phone_transposed'
  | 'phone_blank'
  | 'phone_format'
  | 'city_blank'
  | 'city_moved'
  | 'city_typo'
  | 'address_variant'
  | 'address_blank'
  | 'sex_blank'
  // Shape H (historical register) only.
  | 'title_changed'
  | 'middle_name_dropped'
  | 'date_moved_days'
  | 'date_moved_year'
  | 'place_blank'
  | 'place_moved'
  | 'postcode_moved'
  | 'postcode_blank'
  | 'occupation_changed'
  | 'occupation_blank';

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function typo(random: () => number, text: string): string {
  if (text.length < 2) return text;
  const at = Math.floor(random() * text.length);
  const kind = random();
  const char = text[at]!;
  if (kind < 0.35) {
    const near = NEIGHBOURS.get(char);
    return near ? text.slice(0, at) + pick(random, [...near]) + text.slice(at + 1) : text;
  }
  if (kind < 0.55) return text.slice(0, at) + text.slice(at + 1);
  if (kind < 0.75) return text.slice(0, at) + (NEIGHBOURS.get(char) ? pick(random, [...NEIGHBOURS.get(char)!]) : char) + text.slice(at);
  return transpose(random, text, 0, text.length);
}

/** Two neighbouring characters swapped somewhere within [from, to). */
function transpose(random: () => number, text: string, from: number, to: number): string {
  const candidates: number[] = [];
  for (let i = from; i < to - 1; i++)
    if (text[i] !== text[i + 1] && /[a-z0-9]/.test(text[i]!) && /[a-z0-9]/.test(text[i + 1]!)) candidates.push(i);
  if (candidates.length === 0) return text;
  const i = pick(random, candidates);
  return text.slice(0, i) + text[i + 1] + text[i] + text.slice(i + 2);
}

function soundAlike(random: () => number, text: string): string {
  const options = SOUND_ALIKE.flatMap(
    ([x, y]) =>
      [
        [x, y],
        [y, x],
      ] as const,
  ).filter(([from]) => text.includes(from));
  if (options.length === 0) return typo(random, text);
  const [from, to] = pick(random, options);
  return text.replace(from, to);
}

const capitalise = (word: string): string =>
  word.replace(/(^|[\s'-])([a-z])/g, (_, before: string, letter: string) => before + letter.toUpperCase());

function makePerson(
  random: () => number,
  usedEmails: Set<string>,
  household: Person | null,
  names: { male: Zipf<string>; female: Zipf<string>; family: Zipf<string> },
  cities: Zipf<string>,
  years: () => number,
  serial: number,
): Person {
  const sex = random() < 0.5 ? 'F' : 'M';
  const given = (sex === 'F' ? names.female : names.male).draw(random);
  const family = household?.family ?? (random() < 0.75 ? names.family.draw(random) : pick(random, TAIL_START) + pick(random, TAIL_END));
  const year = years();
  const month = 1 + Math.floor(random() * 12);
  const day = 1 + Math.floor(random() * 28);
  const city = household?.city ?? cities.draw(random);
  // People choose email addresses from their names, so namesakes' addresses differ by a digit or two.
  const style = random();
  const local =
    style < 0.4
      ? `${given}.${family}`
      : style < 0.6
        ? `${given[0]}${family}`
        : style < 0.8
          ? `${given}${family}${Math.floor(random() * 100)}`
          : `${given}.${family}${year % 100}`;
  // A mailbox belongs to one person: a namesake who wants a taken address adds digits.
  const domain = pick(random, DOMAINS);
  let email = `${local.replace(/'/g, '')}@${domain}`;
  for (let n = 1; usedEmails.has(email); n++) email = `${local.replace(/'/g, '')}${n}@${domain}`;
  usedEmails.add(email);
  const phone =
    household && random() < 0.5
      ? household.phone
      : `07${String(100_000_000 + ((serial * 7919 + Math.floor(random() * 1e6)) % 900_000_000)).padStart(9, '0')}`;
  const address = household?.address ?? `${1 + Math.floor(random() * 180)} ${pick(random, STREETS)}`;
  return { given, family, sex, year, month, day, city, email, phone, address };
}

/** Cluster sizes 1–8, skewed: most people appear once or twice, a few many times. */
const CLUSTER_SIZES = new Zipf([1, 2, 3, 4, 5, 6, 7, 8], 1.6);

function corrupt(random: () => number, row: Row, person: Person, cities: Zipf<string>, shape: Shape, tally: Map<ErrorKind, number>): void {
  let applied = 0;
  const note = (kind: ErrorKind) => {
    applied++;
    row.errors.push(kind);
    tally.set(kind, (tally.get(kind) ?? 0) + 1);
  };
  // One to three modifications per duplicate, as FEBRL's default; only to fields the shape writes.
  const modifications = 1 + (random() < 0.45 ? 1 : 0) + (random() < 0.2 ? 1 : 0);
  for (let attempt = 0; applied < modifications && attempt < 20; attempt++) {
    let r = random();
    if (shape === 'A' && r >= 0.67 && r < 0.8) continue; // no phone
    if (shape === 'A' && r >= 0.92) continue; // no address or sex
    if (shape === 'B' && r >= 0.44 && r < 0.67) r = 0.67 + (r - 0.44) * (0.13 / 0.23); // no email: a phone error instead
    if (r < 0.08) {
      [row.given, row.family] = [row.family, row.given];
      note('names_swapped');
    } else if (r < 0.16) {
      if (random() < 0.5) row.given = typo(random, row.given);
      else row.family = typo(random, row.family);
      note('name_typo');
    } else if (r < 0.19) {
      row.family = soundAlike(random, row.family);
      note('name_sound_alike');
    } else if (r < 0.22 && NICKNAMES[person.given]) {
      row.given = NICKNAMES[person.given]!;
      note('nickname');
    } else if (r < 0.26) {
      if (random() < 0.6) row.given = '';
      else row.family = '';
      note('name_blank');
    } else if (r < 0.36 && row.dob) {
      const [y, m, d] = row.dob;
      if (m !== d) {
        row.dob = [y, d, m];
        note('day_month_swapped');
      }
    } else if (r < 0.41 && row.dob) {
      const digits = `${row.dob[0]}${String(row.dob[1]).padStart(2, '0')}${String(row.dob[2]).padStart(2, '0')}`;
      const at = Math.floor(random() * 8);
      const changed = digits.slice(0, at) + String((Number(digits[at]) + 1 + Math.floor(random() * 8)) % 10) + digits.slice(at + 1);
      row.dobTypo = changed;
      note('date_digit_typo');
    } else if (r < 0.44) {
      row.dob = null;
      row.dobTypo = null;
      note('date_blank');
    } else if (r < 0.52 && row.email) {
      const at = row.email.indexOf('@');
      row.email = transpose(random, row.email, at + 1, row.email.length);
      note('email_domain_transposed');
    } else if (r < 0.57 && row.email) {
      const at = row.email.indexOf('@');
      row.email = random() < 0.5 ? transpose(random, row.email, 0, at) : typo(random, row.email.slice(0, at)) + row.email.slice(at);
      note('email_local_typo');
    } else if (r < 0.61 && row.email) {
      row.email = row.email.slice(0, row.email.indexOf('@') + 1) + pick(random, DOMAINS);
      note('email_other_domain');
    } else if (r < 0.67) {
      row.email = '';
      note('email_blank');
    } else if (r < 0.71) {
      row.phone = typo(random, row.phone.replace(/\D/g, '')).replace(/\D/g, '');
      note('phone_typo');
    } else if (r < 0.75) {
      row.phone = transpose(random, row.phone, 2, row.phone.length);
      note('phone_transposed');
    } else if (r < 0.78) {
      row.phone = '';
      note('phone_blank');
    } else if (r < 0.8) {
      row.phone = `+44 ${row.phone.slice(1, 5)} ${row.phone.slice(5)}`;
      note('phone_format');
    } else if (r < 0.87) {
      row.city = '';
      note('city_blank');
    } else if (r < 0.9) {
      row.city = cities.draw(random);
      note('city_moved');
    } else if (r < 0.92) {
      row.city = typo(random, row.city);
      note('city_typo');
    } else if (r < 0.96) {
      row.address = row.address.replace(/\b(street|road|lane|crescent)\b/, (word) => STREET_ABBREVIATIONS[word]!);
      if (random() < 0.4) row.address = `flat ${1 + Math.floor(random() * 9)}, ${row.address}`;
      note('address_variant');
    } else if (r < 0.98) {
      row.address = '';
      note('address_blank');
    } else {
      row.sex = '';
      note('sex_blank');
    }
  }
}

export interface ForeignDataOptions {
  records: number;
  seed: number;
  shape: Shape;
}

export interface ForeignData {
  header: string[];
  /** CSV lines (no header), one per record. */
  lines: string[];
  /** record_id,cluster_id per record. */
  truth: [string, number][];
  /** Per record, the errors it went through (none for a cluster's first record). */
  errorsOf: ErrorKind[][];
  people: number;
  errors: Record<string, number>;
  /** `joinery link` arguments for this shape. */
  idColumn: string;
  map: string;
}

function csvField(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function writtenDate(row: Row, shape: Shape): string {
  if (row.dobTypo)
    return shape === 'A'
      ? `${row.dobTypo.slice(0, 4)}-${row.dobTypo.slice(4, 6)}-${row.dobTypo.slice(6)}`
      : `${row.dobTypo.slice(6)}/${row.dobTypo.slice(4, 6)}/${row.dobTypo.slice(0, 4)}`;
  if (!row.dob) return '';
  const [y, m, d] = row.dob;
  const mm = String(m).padStart(2, '0');
  const dd = String(d).padStart(2, '0');
  return shape === 'A' ? `${y}-${mm}-${dd}` : `${dd}/${mm}/${y}`;
}

/** People and their records, corrupted; records shuffled so a cluster's records are not adjacent. */
export function foreignData({ records, seed, shape }: ForeignDataOptions): ForeignData {
  if (shape === 'H') return historicalRegister(records, seed);
  const random = rng(seed * 2654435761 + 17);
  // Shape B's population is older and narrower: more people share a birth year.
  const names = { male: new Zipf(MALE, 1.05), female: new Zipf(FEMALE, 1.05), family: new Zipf(FAMILY, 0.9) };
  const cities = new Zipf(CITIES, shape === 'A' ? 1.0 : 1.3);
  const years =
    shape === 'A' ? () => 1940 + Math.floor(random() * 65) : () => 1950 + Math.floor(((random() + random() + random()) / 3) * 40);
  const rows: Row[] = [];
  const tally = new Map<ErrorKind, number>();
  let people = 0;
  let household: Person | null = null;
  const usedEmails = new Set<string>();
  while (rows.length < records) {
    // A third of people share a household (surname, town, address, sometimes a phone) with the one before.
    const person = makePerson(random, usedEmails, household && random() < 0.33 ? household : null, names, cities, years, people);
    household = person;
    const cluster = people++;
    const size = Math.min(CLUSTER_SIZES.draw(random), records - rows.length);
    for (let copy = 0; copy < size; copy++) {
      const row: Row = {
        id: '',
        cluster,
        given: person.given,
        family: person.family,
        dob: [person.year, person.month, person.day],
        dobTypo: null,
        sex: person.sex,
        city: person.city,
        email: person.email,
        phone: person.phone,
        address: person.address,
        errors: [],
      };
      // The original is also incomplete sometimes: agencies do not all collect everything.
      if (random() < 0.1) row.email = '';
      if (random() < 0.1) row.city = '';
      if (copy > 0) corrupt(random, row, person, cities, shape, tally);
      rows.push(row);
    }
  }
  // Fisher–Yates shuffle, then ids in file order (ids say nothing about clusters).
  for (let i = rows.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [rows[i], rows[j]] = [rows[j]!, rows[i]!];
  }
  const lines: string[] = [];
  const truth: [string, number][] = [];
  const errorsOf = rows.map((row) => row.errors);
  rows.forEach((row, i) => {
    row.id = shape === 'A' ? String(100000 + i) : `R${String(i).padStart(7, '0')}`;
    truth.push([row.id, row.cluster + 1]);
    const fields =
      shape === 'A'
        ? [row.id, row.given, row.family, writtenDate(row, shape), row.city, row.email]
        : [
            row.id,
            capitalise(row.given),
            row.family.toUpperCase(),
            writtenDate(row, shape),
            row.sex,
            row.phone,
            capitalise(row.address),
            capitalise(row.city),
          ];
    lines.push(fields.map(csvField).join(','));
  });
  return shape === 'A'
    ? {
        header: ['id', 'first_name', 'last_name', 'dob', 'city', 'email'],
        lines,
        truth,
        errorsOf,
        people,
        errors: Object.fromEntries(tally),
        idColumn: 'id',
        map: 'first_name=given_name,last_name=family_name,dob=birth_date,city=text:city,email=email',
      }
    : {
        header: ['ref', 'forename', 'surname', 'date_of_birth', 'gender', 'mobile', 'address', 'town'],
        lines,
        truth,
        errorsOf,
        people,
        errors: Object.fromEntries(tally),
        idColumn: 'ref',
        map: 'forename=given_name,surname=family_name,date_of_birth=birth_date,gender=sex,mobile=phone,address=address,town=text:town',
      };
}

// ---------------------------------------------------------------------------------------------
// Shape H: a register of historical people.

const HISTORICAL_MALE = (
  'john william thomas james george charles henry richard robert edward francis joseph samuel frederick ' +
  'arthur david alexander edmund walter hugh peter benjamin daniel stephen matthew andrew philip ralph ' +
  'nicholas christopher anthony michael patrick herbert ernest albert alfred harold sidney percy cecil ' +
  'lionel reginald horace oswald rupert humphrey roger gilbert geoffrey simon laurence isaac jacob'
).split(' ');
const HISTORICAL_FEMALE = (
  'mary elizabeth anne margaret jane catherine sarah frances alice eleanor emily charlotte louisa harriet ' +
  'caroline isabella florence edith ada beatrice dorothy helen agnes maud violet constance victoria'
).split(' ');
const TITLES_MALE = ['sir', 'lord', 'rev', 'dr', 'captain', 'general', 'professor'];
const TITLES_FEMALE = ['lady', 'dame', 'dr', 'mrs', 'miss'];
const OCCUPATIONS = (
  'politician|priest|painter|writer|soldier|military officer|lawyer|judge|physician|surgeon|merchant|' +
  'engineer|architect|actor|singer|composer|poet|journalist|teacher|professor|cricketer|footballer|' +
  'rower|clergyman|bishop|diplomat|civil servant|banker|businessperson|farmer|sculptor|photographer|' +
  'naval officer|botanist|chemist|physicist|mathematician|historian|novelist|publisher|printer|' +
  'shipbuilder|landowner|magistrate|barrister|solicitor|missionary|explorer|inventor|organist|' +
  'schoolmaster|surveyor|economist|philosopher|trade unionist|jockey|boxer|athlete|nurse'
).split('|');
// Towns beyond the cities: a long tail of birth places few people share.
const VILLAGE_START = 'little great upper lower north south east west old new long high'.split(' ');
const VILLAGE_END =
  'ashby barton bourne bridge burton chester combe compton dean ford hampton kirby langley marston milton norton stoke sutton thorpe walton weston wick'.split(
    ' ',
  );

interface HistoricalPerson {
  title: string;
  given: string;
  middles: string[];
  family: string;
  sex: 'female' | 'male';
  year: number;
  month: number;
  day: number;
  /** Only the year is known: every copy writes 1 January. */
  yearOnly: boolean;
  place: string;
  postcode: string;
  occupation: string;
}

interface HistoricalRow {
  title: string;
  given: string;
  middles: string[];
  family: string;
  dob: string;
  place: string;
  postcode: string;
  sex: string;
  occupation: string;
  errors: ErrorKind[];
}

const iso = (year: number, month: number, day: number): string =>
  `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;

/** A place's postcode area: two letters from its name, then a district and a sector near it. */
function postcodeNear(random: () => number, place: string, district?: number): string {
  const letters = place.replace(/[^a-z]/g, '');
  const area = (letters[0]! + (letters[letters.length - 1] ?? 'x')).toUpperCase();
  const letter = () => 'ABDEFGHJLNPQRSTUWXYZ'[Math.floor(random() * 20)]!;
  return `${area}${district ?? 1 + Math.floor(random() * 9)} ${Math.floor(random() * 10)}${letter()}${letter()}`;
}

function historicalRegister(records: number, seed: number): ForeignData {
  const random = rng(seed * 2654435761 + 29);
  const male = new Zipf(HISTORICAL_MALE, 1.2);
  const female = new Zipf(HISTORICAL_FEMALE, 1.2);
  const family = new Zipf(FAMILY, 1.0);
  const towns = new Zipf(CITIES, 1.4);
  const occupations = new Zipf(OCCUPATIONS, 1.1);
  const placeOf = () => (random() < 0.7 ? towns.draw(random) : `${pick(random, VILLAGE_START)} ${pick(random, VILLAGE_END)}`);
  // Most people were born 1780–1930; a few earlier.
  const yearOf = () => (random() < 0.1 ? 1550 + Math.floor(random() * 230) : 1780 + Math.floor(((random() + random()) / 2) * 150));

  const makePerson = (elder: HistoricalPerson | null): HistoricalPerson => {
    const sex = (elder && random() < 0.6 ? elder.sex : random() < 0.85 ? 'male' : 'female') as HistoricalPerson['sex'];
    const names = sex === 'male' ? male : female;
    // A son was often named after his father; families passed their middle names on too.
    const given = elder && elder.sex === sex && random() < 0.35 ? elder.given : names.draw(random);
    const middles = random() < 0.4 ? [names.draw(random)] : random() < 0.1 ? [names.draw(random), names.draw(random)] : [];
    const year = elder ? elder.year + 18 + Math.floor(random() * 25) : yearOf();
    const place = elder ? elder.place : placeOf();
    return {
      title: random() < 0.15 ? pick(random, sex === 'male' ? TITLES_MALE : TITLES_FEMALE) : '',
      given,
      middles,
      family: elder ? elder.family : random() < 0.8 ? family.draw(random) : pick(random, TAIL_START) + pick(random, TAIL_END),
      sex,
      year,
      month: 1 + Math.floor(random() * 12),
      day: 1 + Math.floor(random() * 28),
      yearOnly: random() < 0.2,
      place,
      // A family seat: relatives often share the very postcode.
      postcode: elder && random() < 0.6 ? elder.postcode : postcodeNear(random, place),
      occupation: elder && random() < 0.5 ? elder.occupation : occupations.draw(random),
    };
  };

  const rowsOut: Array<HistoricalRow & { cluster: number }> = [];
  const tally = new Map<ErrorKind, number>();
  let people = 0;
  let previous: HistoricalPerson | null = null;
  while (rowsOut.length < records) {
    // A quarter of people are a relative of the one before: the same surname, birth place, often postcode and occupation.
    const person = makePerson(previous && random() < 0.25 ? previous : null);
    previous = person;
    const cluster = people++;
    const size = Math.min(CLUSTER_SIZES.draw(random), records - rowsOut.length);
    for (let copy = 0; copy < size; copy++) {
      const row: HistoricalRow & { cluster: number } = {
        cluster,
        title: person.title,
        given: person.given,
        middles: [...person.middles],
        family: person.family,
        dob: person.yearOnly ? iso(person.year, 1, 1) : iso(person.year, person.month, person.day),
        place: person.place,
        postcode: person.postcode,
        sex: person.sex,
        occupation: person.occupation,
        errors: [],
      };
      if (copy > 0) corruptHistorical(random, row, person, copy / Math.max(1, size - 1), towns, occupations, tally);
      rowsOut.push(row);
    }
  }
  for (let i = rowsOut.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [rowsOut[i], rowsOut[j]] = [rowsOut[j]!, rowsOut[i]!];
  }
  const lines: string[] = [];
  const truth: [string, number][] = [];
  rowsOut.forEach((row, i) => {
    const id = `Q${100000 + i}`;
    truth.push([id, row.cluster + 1]);
    const fullName = [row.title, row.given, ...row.middles, row.family].filter((part) => part !== '').join(' ');
    const fields = [
      id,
      fullName,
      [row.given, row.family].filter((part) => part !== '').join(' '),
      row.given,
      row.family,
      row.dob,
      row.place,
      row.postcode,
      row.sex,
      row.occupation,
    ];
    lines.push(fields.map(csvField).join(','));
  });
  return {
    header: [
      'unique_id',
      'full_name',
      'first_and_surname',
      'first_name',
      'surname',
      'dob',
      'birth_place',
      'postcode_fake',
      'gender',
      'occupation',
    ],
    lines,
    truth,
    errorsOf: rowsOut.map((row) => row.errors),
    people,
    errors: Object.fromEntries(tally),
    idColumn: 'unique_id',
    map: 'first_name=given_name,surname=family_name,dob=birth_date,gender=sex,postcode_fake=postcode,birth_place=text:birth_place,occupation=text:occupation',
  };
}

/**
 * One duplicate's errors. `late` runs from 0 (a person's first copy) to 1 (their last): later
 * copies carry more errors and more blanks, as registers copied from copies do. Every copy's
 * birth date differs from the original's in some way.
 */
function corruptHistorical(
  random: () => number,
  row: HistoricalRow,
  person: HistoricalPerson,
  late: number,
  towns: Zipf<string>,
  occupations: Zipf<string>,
  tally: Map<ErrorKind, number>,
): void {
  const note = (kind: ErrorKind) => {
    row.errors.push(kind);
    tally.set(kind, (tally.get(kind) ?? 0) + 1);
  };
  const corruptChance = 0.1 + 0.5 * late;
  const blankChance = 0.4 * late;
  if (random() < corruptChance) {
    const r = random();
    if (r < 0.3) {
      row.title = row.title ? '' : pick(random, person.sex === 'male' ? TITLES_MALE : TITLES_FEMALE);
      note('title_changed');
    } else if (r < 0.55 && NICKNAMES[row.given]) {
      row.given = NICKNAMES[row.given]!;
      note('nickname');
    } else if (r < 0.7 && row.middles.length > 0) {
      row.middles = random() < 0.5 ? [] : row.middles.map((name) => name[0]!);
      note('middle_name_dropped');
    } else if (r < 0.9) {
      if (random() < 0.5) row.given = typo(random, row.given);
      else row.family = typo(random, row.family);
      note('name_typo');
    } else {
      row.family = soundAlike(random, row.family);
      note('name_sound_alike');
    }
  }
  if (random() < blankChance) {
    if (random() < 0.5) row.given = '';
    else row.family = '';
    note('name_blank');
  }
  // The birth date: moved by days, by up to a year, mistyped, or (rarely) left out.
  const r = random();
  const [y, m, d] = row.dob.split('-').map(Number) as [number, number, number];
  if (r < 0.45) {
    const moved = new Date(Date.UTC(2000, m - 1, d + (random() < 0.5 ? -1 : 1) * (1 + Math.floor(random() * 30))));
    row.dob = iso(y + (moved.getUTCFullYear() - 2000), moved.getUTCMonth() + 1, moved.getUTCDate());
    note('date_moved_days');
  } else if (r < 0.65) {
    row.dob = iso(y + (random() < 0.5 ? -1 : 1), m, d);
    note('date_moved_year');
  } else if (r < 0.95) {
    const digits = row.dob.replace(/-/g, '');
    const at = 2 + Math.floor(random() * 6);
    const changed = digits.slice(0, at) + String((Number(digits[at]) + 1 + Math.floor(random() * 8)) % 10) + digits.slice(at + 1);
    const month = Number(changed.slice(4, 6));
    const day = Number(changed.slice(6));
    // A typo that makes no date is written anyway; the reader sets it aside as unreadable.
    row.dob = `${changed.slice(0, 4)}-${changed.slice(4, 6)}-${changed.slice(6)}`;
    if (month < 1 || month > 12 || day < 1 || day > 31)
      row.dob = `${changed.slice(0, 4)}-${String(m).padStart(2, '0')}-${changed.slice(6)}`;
    note('date_digit_typo');
  } else {
    row.dob = '';
    note('date_blank');
  }
  if (random() < blankChance * 0.75) {
    row.place = '';
    note('place_blank');
  } else if (random() < 0.1) {
    row.place = towns.draw(random);
    note('place_moved');
  }
  if (random() < blankChance * 0.75) {
    row.postcode = '';
    note('postcode_blank');
  } else if (random() < 0.6) {
    // Somewhere nearby: the same area and, mostly, the same district.
    const district = random() < 0.8 ? Number(/^[A-Z]+(\d+)/.exec(row.postcode)?.[1] ?? 1) : undefined;
    row.postcode = postcodeNear(random, person.place, district);
    note('postcode_moved');
  }
  if (random() < blankChance) {
    row.occupation = '';
    note('occupation_blank');
  } else if (random() < 0.1 + 0.6 * late) {
    row.occupation = occupations.draw(random);
    note('occupation_changed');
  }
  if (random() < 0.02) {
    row.sex = '';
    note('sex_blank');
  }
}

/** Writes records.csv and truth.csv into `directory`; returns their paths. */
export function writeForeignData(data: ForeignData, directory: string): { recordsFile: string; truthFile: string } {
  mkdirSync(directory, { recursive: true });
  const paths = { recordsFile: join(directory, 'records.csv'), truthFile: join(directory, 'truth.csv') };
  const write = (path: string, header: string, lines: Iterable<string>) => {
    const fd = openSync(path, 'w');
    let chunk = header + '\n';
    for (const line of lines) {
      chunk += line + '\n';
      if (chunk.length > 1 << 20) {
        writeSync(fd, chunk);
        chunk = '';
      }
    }
    writeSync(fd, chunk);
    closeSync(fd);
  };
  write(paths.recordsFile, data.header.join(','), data.lines);
  write(
    paths.truthFile,
    'record_id,cluster_id',
    (function* () {
      for (const [id, cluster] of data.truth) yield `${id},${cluster}`;
    })(),
  );
  return paths;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: '1000' },
      seed: { type: 'string', default: '1' },
      shape: { type: 'string', default: 'A' },
      out: { type: 'string', default: 'foreign-data' },
    },
  });
  const shape = values.shape.toUpperCase();
  if (shape !== 'A' && shape !== 'B' && shape !== 'H') throw new Error(`--shape must be A, B or H, got ${values.shape}`);
  const data = foreignData({ records: Number(values.records.replace(/_/g, '')), seed: Number(values.seed), shape });
  const paths = writeForeignData(data, values.out);
  console.log(
    JSON.stringify(
      {
        shape,
        records: data.lines.length,
        people: data.people,
        errors: data.errors,
        ...paths,
        link: ['--input', paths.recordsFile, '--id-column', data.idColumn, '--map', data.map, '--labels', paths.truthFile],
      },
      null,
      2,
    ),
  );
}
