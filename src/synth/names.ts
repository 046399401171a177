// Name and place-name data for synthetic people and places. Lists are written out in rough order of
// popularity; weights follow a Zipf-like curve from that order, so common names dominate the way
// they do in real registers. Everything here is generic (no real person is described).

import type { Sex } from './types.ts';

/** Finer-grained naming traditions than the census groups, so names fit a person's background. */
export type NameOrigin =
  | 'british'
  | 'irish'
  | 'polish'
  | 'romanian'
  | 'pakistani'
  | 'indian'
  | 'bangladeshi'
  | 'black_african'
  | 'black_caribbean'
  | 'chinese'
  | 'arab';

/** Birth-era flavour for British-style given names. */
export type NameEra = 'old' | 'mid' | 'young';

export interface WeightedNames {
  names: string[];
  weights: number[];
}

/** Splits a space-separated list (already in popularity order) and gives Zipf-like weights. */
function ranked(list: string, skew = 0.9): WeightedNames {
  const names = list.trim().split(/\s+/);
  return { names, weights: names.map((_, i) => 1 / Math.pow(i + 1, skew)) };
}

export function eraForBirthYear(year: number): NameEra {
  if (year < 1960) return 'old';
  if (year < 1990) return 'mid';
  return 'young';
}

const BRITISH_GIVEN: Record<NameEra, Record<Sex, WeightedNames>> = {
  old: {
    female: ranked(`Margaret Patricia Susan Mary Joan Dorothy Jean Barbara Christine Sheila Maureen Brenda
      Elizabeth Valerie Pauline Janet Irene Doreen Kathleen Eileen Anne Sylvia Shirley Joyce Betty Gwendoline
      Marjorie Audrey Edna Hilda Beryl Rita Jacqueline Carol Linda Elsie Winifred Vera Gladys Evelyn Josephine Sandra`),
    male: ranked(`John David Michael Peter Robert Brian William Alan Kenneth Anthony Roy Derek Ronald James
      Keith Colin Dennis Terence Raymond George Frederick Geoffrey Leslie Harold Stanley Albert Norman Arthur
      Eric Malcolm Trevor Gordon Donald Bernard Barry Graham Clifford Walter Frank Richard Thomas Cyril`),
  },
  mid: {
    female: ranked(`Sarah Claire Emma Nicola Lisa Julie Helen Karen Joanne Michelle Rachel Louise Amanda
      Tracey Kelly Samantha Deborah Gemma Victoria Rebecca Laura Donna Wendy Alison Jennifer Angela Dawn
      Natalie Catherine Elaine Lorraine Hayley Joanna Kerry Stephanie Zoe Andrea Katherine Jane Suzanne`),
    male: ranked(`Paul Mark David Andrew Richard Stephen Christopher Darren Ian Simon Neil Gary Jason Craig
      Lee Martin Matthew Daniel Jonathan Steven Kevin Wayne Philip Carl Scott Stuart Dean Adam Nicholas Jamie
      Gareth Shaun Russell Timothy Graham Anthony Robert James Michael Jeremy`),
  },
  young: {
    female: ranked(`Olivia Amelia Isla Ava Mia Emily Sophia Grace Lily Freya Ella Jessica Chloe Sophie Evie
      Poppy Isabella Charlotte Daisy Alice Ruby Florence Millie Lucy Holly Megan Hannah Ellie Phoebe Matilda
      Rosie Harriet Erin Esme Imogen Lola Maisie Scarlett Willow Eleanor Maya Zara Layla Ivy Bethany Amber
      Jasmine Abigail Katie Lauren`),
    male: ranked(`Noah Oliver George Arthur Leo Harry Oscar Jack Charlie Jacob Thomas Freddie Alfie Henry
      Theo William Archie Joshua Samuel James Lucas Isaac Logan Ethan Max Finley Mason Riley Dylan Harrison
      Toby Reuben Tyler Kai Ryan Callum Connor Liam Lewis Jake Kieran Luke Ben Louis Elliot Joseph Daniel
      Alexander Edward Frankie`),
  },
};

const OTHER_GIVEN: Record<Exclude<NameOrigin, 'british'>, Record<Sex, WeightedNames>> = {
  irish: {
    female: ranked(`Siobhan Niamh Aoife Ciara Orla Sinead Roisin Aisling Grainne Maeve Bridget Nuala Deirdre Caoimhe`),
    male: ranked(`Sean Patrick Declan Ciaran Liam Conor Padraig Eoin Cormac Niall Brendan Fergal Donal Oisin`),
  },
  polish: {
    female: ranked(`Anna Katarzyna Agnieszka Magdalena Joanna Monika Aleksandra Zofia Natalia Ewa Dorota Malgorzata Justyna Wiktoria`),
    male: ranked(`Piotr Krzysztof Tomasz Pawel Marcin Michal Jakub Lukasz Kamil Grzegorz Mateusz Wojciech Szymon Bartosz`),
  },
  romanian: {
    female: ranked(`Maria Elena Ioana Andreea Alexandra Mihaela Gabriela Cristina Raluca Daniela Bianca Roxana`),
    male: ranked(`Andrei Alexandru Ion Mihai Stefan Florin Cristian Gabriel Vasile Adrian Bogdan Ionut`),
  },
  pakistani: {
    female: ranked(`Ayesha Fatima Maryam Zainab Sana Amina Hira Sadia Nadia Rukhsana Shazia Iqra Mehreen Samina Noor Hafsa`),
    male: ranked(`Muhammad Mohammed Ali Hamza Bilal Usman Imran Zubair Adnan Tariq Asif Faisal Kamran Zain Ibrahim Yusuf`, 0.7),
  },
  indian: {
    female: ranked(`Priya Anjali Pooja Neha Kavita Sunita Harpreet Simran Jaspreet Meera Deepa Asha Nisha Ananya Aarya Kiran`),
    male: ranked(`Rajesh Sanjay Amit Vikram Arjun Rohan Harjit Gurpreet Sandeep Ravi Anil Manish Aarav Dev Suresh Vijay`),
  },
  bangladeshi: {
    female: ranked(`Fatema Nasima Shirin Rehana Sumaiya Tasnim Farhana Jahanara Salma Rumana Shabana Nusrat`),
    male: ranked(`Mohammed Abdul Rahman Shahid Jamal Kamal Rashid Habib Mizanur Shafiq Nazrul Arif`, 0.7),
  },
  black_african: {
    female: ranked(`Blessing Grace Precious Chioma Abena Amara Funmilayo Ngozi Adaeze Esther Akosua Folake Nneka Ama Zainab Halima`),
    male: ranked(`Emmanuel David Samuel Chinedu Kwame Oluwaseun Tunde Kofi Daniel Segun Abdi Ifeanyi Yaw Tobi Emeka Musa`),
  },
  black_caribbean: {
    female: ranked(`Shanice Keisha Marcia Jasmine Tanya Beverley Sharon Monique Simone Janelle Precious Claudette`),
    male: ranked(`Marcus Andre Winston Delroy Tyrone Leon Jermaine Devon Clive Errol Trevor Dwayne`),
  },
  chinese: {
    female: ranked(`Mei Li Xiaoling Hui Yan Ling Jing Xin Ying Wen Fang Qing`),
    male: ranked(`Wei Jun Hao Ming Jian Chen Lei Tao Bo Yong Feng Zhi`),
  },
  arab: {
    female: ranked(`Fatima Mariam Layla Noor Huda Salma Rania Yasmin Amal Dalia Hana Leila`),
    male: ranked(`Mohammed Ahmed Omar Ali Youssef Khalid Hassan Karim Tariq Samir Mustafa Ibrahim`, 0.7),
  },
};

const FAMILY: Record<NameOrigin, WeightedNames> = {
  british: ranked(
    `Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson
    Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Jackson Wood Turner Martin Cooper
    Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott Phillips Watson Davis
    Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson Bailey Collins Bell Shaw
    Murphy Miller Cox Richards Marshall Anderson Simpson Ellis Adams Wilkinson Foster Chapman Powell
    Webb Rogers Gray Mason Hunt Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler
    Russell Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham Pearson Fletcher Walsh Gibson
    Howard Andrews Stewart Elliott Reynolds Saunders Payne Fox Ford Pearce Day Brooks West Lawrence Cole
    Atkinson Bradley Spencer Gill Dawson Ball Burton O'Brien Watts Rose Booth Perry Ryan Grant Wells
    Armstrong Francis Rees Hayes Hart Hudson Newman Barrett Webster Hunter Gregory Carr Lowe Page Marsh
    Riley Dunn Woods Parsons Berry Stone Reid Holland Hawkins Harding Porter Robertson Newton Oliver
    Reed Kennedy Williamson Bird Gardner Dean Lane Cooke Bates Henderson Parry Burgess Bishop Walton
    Burns Nicholson Shepherd Ross Cross Long Freeman Warren Nicholls Hamilton Byrne Sutton McDonald`,
    0.75,
  ),
  irish: ranked(`Murphy Kelly O'Sullivan Walsh O'Brien Byrne Ryan O'Connor O'Neill Reilly Doyle McCarthy
    Gallagher Doherty Kennedy Lynch Murray Quinn Moore McLaughlin Brennan Fitzgerald Kavanagh Donnelly`),
  polish: ranked(`Nowak Kowalski Wisniewski Wojcik Kowalczyk Kaminski Lewandowski Zielinski Szymanski
    Wozniak Dabrowski Kozlowski Jankowski Mazur Kwiatkowski Krawczyk Piotrowski Grabowski Nowakowski Pawlowski`),
  romanian: ranked(`Popescu Ionescu Popa Radu Dumitru Stoica Stan Gheorghe Rusu Munteanu Matei Constantin
    Serban Moldovan Lazar`),
  pakistani: ranked(
    `Khan Hussain Ahmed Ali Akhtar Iqbal Mahmood Rashid Shah Butt Malik Qureshi Raja Mirza
    Chaudhry Javed Anwar Bashir`,
    0.8,
  ),
  indian: ranked(
    `Patel Singh Kaur Sharma Kumar Gill Sandhu Mistry Shah Parmar Chauhan Joshi Gupta Mehta
    Sidhu Dhillon Bains Rai Desai Nair Pillai Reddy Verma Kapoor Bhatt Thakkar`,
    0.85,
  ),
  bangladeshi: ranked(
    `Begum Miah Islam Uddin Rahman Ahmed Hossain Khatun Chowdhury Alam Haque Ullah
    Sarkar Karim Akter`,
    0.8,
  ),
  black_african: ranked(`Okafor Mensah Adeyemi Okonkwo Boateng Asante Mohamed Abdi Osei Adebayo Eze
    Nwosu Owusu Ogunleye Balogun Nwachukwu Oduya Okeke Appiah Danso Hassan Yusuf Ibrahim Adeleke Afolabi
    Ncube Moyo Banda Mwangi Otieno Kamara Sesay Diallo`),
  black_caribbean: ranked(`Campbell Brown Williams Francis Thomas Clarke Grant Richards Henry Bailey
    Reid Gordon Morgan Samuels Forbes Lindo Gayle Bryan McKenzie Wright Barnett`),
  chinese: ranked(`Chen Wang Li Zhang Liu Wong Lee Chan Yang Huang Zhao Wu Zhou Lin Ng Cheung Ho Lam Tang Xu`),
  arab: ranked(`Al-Sayed Hassan Mahmoud Abdullah Saleh Haddad Nasser Khalil Mansour Aziz Farah Hamdan
    Othman Said Qasim Sharif Karim Darwish Youssef Salem`),
};

/** Given-name candidates for a person of this origin, sex and birth year. */
export function givenNamesFor(origin: NameOrigin, sex: Sex, birthYear: number): WeightedNames {
  if (origin === 'british') return BRITISH_GIVEN[eraForBirthYear(birthYear)][sex];
  return OTHER_GIVEN[origin][sex];
}

export function familyNamesFor(origin: NameOrigin): WeightedNames {
  return FAMILY[origin];
}

// Some South Asian family names belong to one sex: Kaur and Begum, Khatun, Akter to women; Singh and Miah to men.
const FEMALE_ONLY_SURNAMES: Readonly<Record<string, string>> = { Kaur: 'Singh', Begum: 'Miah', Khatun: 'Uddin', Akter: 'Islam' };
const MALE_ONLY_SURNAMES: Readonly<Record<string, string>> = { Singh: 'Kaur', Miah: 'Begum' };

/** The form of a family name that fits the person's sex (a household's "Kaur" is "Singh" for its men). */
export function surnameForSex(name: string, sex: Sex): string {
  if (sex === 'male') return FEMALE_ONLY_SURNAMES[name] ?? name;
  return MALE_ONLY_SURNAMES[name] ?? name;
}

/** Every origin, for precomputing tables. */
export const NAME_ORIGINS: readonly NameOrigin[] = [
  'british',
  'irish',
  'polish',
  'romanian',
  'pakistani',
  'indian',
  'bangladeshi',
  'black_african',
  'black_caribbean',
  'chinese',
  'arab',
];

/** Distinct given names per sex, for checking the data is broad enough. */
export function allGivenNames(sex: Sex): string[] {
  const out = new Set<string>();
  for (const era of ['old', 'mid', 'young'] as const) for (const n of BRITISH_GIVEN[era][sex].names) out.add(n);
  for (const o of Object.values(OTHER_GIVEN)) for (const n of o[sex].names) out.add(n);
  return [...out];
}

export function allFamilyNames(): string[] {
  const out = new Set<string>();
  for (const o of Object.values(FAMILY)) for (const n of o.names) out.add(n);
  return [...out];
}

/** Informal forms people give or agencies write down: formal name → nicknames. */
export const NICKNAMES: Readonly<Record<string, readonly string[]>> = {
  Robert: ['Bob', 'Rob', 'Bobby', 'Robbie'],
  Margaret: ['Maggie', 'Peggy', 'Meg', 'Maggy'],
  William: ['Bill', 'Will', 'Billy', 'Liam'],
  Elizabeth: ['Liz', 'Beth', 'Betty', 'Lizzie'],
  Katherine: ['Kate', 'Kathy', 'Katie'],
  Catherine: ['Cath', 'Kate', 'Cathy'],
  James: ['Jim', 'Jimmy', 'Jamie'],
  John: ['Jack', 'Johnny'],
  Michael: ['Mike', 'Mick', 'Micky'],
  David: ['Dave', 'Davey'],
  Richard: ['Rick', 'Rich', 'Dick', 'Richie'],
  Thomas: ['Tom', 'Tommy'],
  Christopher: ['Chris', 'Kit'],
  Anthony: ['Tony', 'Ant'],
  Andrew: ['Andy', 'Drew'],
  Stephen: ['Steve'],
  Steven: ['Steve'],
  Daniel: ['Dan', 'Danny'],
  Matthew: ['Matt'],
  Jonathan: ['Jon', 'Johnny'],
  Nicholas: ['Nick', 'Nicky'],
  Samuel: ['Sam', 'Sammy'],
  Joseph: ['Joe', 'Joey'],
  Benjamin: ['Ben'],
  Alexander: ['Alex', 'Sandy'],
  Edward: ['Ed', 'Eddie', 'Ted'],
  Frederick: ['Fred', 'Freddie'],
  Kenneth: ['Ken', 'Kenny'],
  Ronald: ['Ron', 'Ronnie'],
  Terence: ['Terry'],
  Raymond: ['Ray'],
  Leslie: ['Les'],
  Geoffrey: ['Geoff'],
  Gordon: ['Gordy'],
  Philip: ['Phil'],
  Timothy: ['Tim'],
  Jeremy: ['Jez'],
  Patrick: ['Pat', 'Paddy'],
  Harold: ['Harry'],
  Albert: ['Bert', 'Albie'],
  Arthur: ['Art'],
  Henry: ['Harry', 'Hal'],
  Charles: ['Charlie', 'Chas'],
  Muhammad: ['Mo'],
  Mohammed: ['Mo'],
  Mohammad: ['Mo'],
  Abdul: ['Abdi'],
  Patricia: ['Pat', 'Patsy', 'Trish'],
  Susan: ['Sue', 'Susie'],
  Deborah: ['Debbie', 'Deb'],
  Jennifer: ['Jen', 'Jenny'],
  Rebecca: ['Becky', 'Becca'],
  Victoria: ['Vicky', 'Tori'],
  Samantha: ['Sam', 'Sammy'],
  Jacqueline: ['Jackie'],
  Christine: ['Chris', 'Chrissie'],
  Dorothy: ['Dot', 'Dottie'],
  Barbara: ['Barb', 'Babs'],
  Kathleen: ['Kath', 'Kathy'],
  Josephine: ['Jo', 'Josie'],
  Joanne: ['Jo'],
  Joanna: ['Jo'],
  Jessica: ['Jess'],
  Abigail: ['Abi', 'Abby'],
  Charlotte: ['Charlie', 'Lottie'],
  Eleanor: ['Ellie', 'Nell'],
  Isabella: ['Bella', 'Izzy'],
  Natalie: ['Nat'],
  Stephanie: ['Steph'],
  Nicola: ['Nicky', 'Nic'],
  Amanda: ['Mandy'],
  Valerie: ['Val'],
  Gwendoline: ['Gwen'],
  Winifred: ['Win', 'Winnie'],
  Evelyn: ['Eve', 'Evie'],
  Sandra: ['Sandy'],
  Katarzyna: ['Kasia'],
  Malgorzata: ['Gosia'],
  Aleksandra: ['Ola'],
  Krzysztof: ['Krzys'],
  Wojciech: ['Wojtek'],
  Oluwaseun: ['Seun'],
  Emmanuel: ['Manny', 'Emma'],
  Ibrahim: ['Ibby'],
};

/** Alternative spellings that the same person's name turns up under in different systems. */
export const SPELLING_VARIANTS: Readonly<Record<string, readonly string[]>> = {
  Smith: ['Smyth'],
  Thompson: ['Thomson', 'Tompson'],
  Thomson: ['Thompson'],
  Stephen: ['Steven'],
  Steven: ['Stephen'],
  Ann: ['Anne'],
  Anne: ['Ann'],
  Mohammed: ['Mohammad', 'Muhammad', 'Mohamed'],
  Mohammad: ['Mohammed', 'Muhammad'],
  Muhammad: ['Mohammed', 'Mohammad', 'Muhammed'],
  Mohamed: ['Mohammed'],
  Catherine: ['Katherine', 'Kathryn'],
  Katherine: ['Catherine', 'Kathryn'],
  Philip: ['Phillip'],
  Geoffrey: ['Jeffrey'],
  Sean: ['Shaun', 'Shawn'],
  Shaun: ['Sean'],
  Claire: ['Clare'],
  Sarah: ['Sara'],
  Rachel: ['Rachael'],
  Louise: ['Louisa'],
  Tracey: ['Tracy'],
  Lee: ['Leigh'],
  Zoe: ['Zoë'],
  Jon: ['John'],
  Isla: ['Islah'],
  Layla: ['Leila', 'Laila'],
  Leila: ['Layla'],
  Yusuf: ['Yousef', 'Youssef'],
  Youssef: ['Yusuf'],
  Fatima: ['Fatema', 'Fatimah'],
  Fatema: ['Fatima'],
  Ayesha: ['Aisha', 'Aysha'],
  Davies: ['Davis'],
  Davis: ['Davies'],
  Clarke: ['Clark'],
  Clark: ['Clarke'],
  Reid: ['Read', 'Reed'],
  Grey: ['Gray'],
  Gray: ['Grey'],
  Mathews: ['Matthews'],
  Matthews: ['Mathews'],
  Phillips: ['Philips'],
  McDonald: ['MacDonald', 'Macdonald'],
  McKenzie: ['MacKenzie', 'Mackenzie'],
  "O'Brien": ['OBrien', 'O Brien'],
  "O'Sullivan": ['OSullivan', 'O Sullivan'],
  "O'Connor": ['OConnor', "O'Conner"],
  "O'Neill": ['ONeill', "O'Neil"],
  Hussain: ['Hussein', 'Husain'],
  Hossain: ['Hussain', 'Hosain'],
  Chowdhury: ['Choudhury', 'Chaudhry'],
  Chaudhry: ['Choudhry', 'Chowdhury'],
  Rahman: ['Rehman'],
  Mahmood: ['Mahmud', 'Mehmood'],
  Wisniewski: ['Wiśniewski', 'Wisnewski'],
  Wojcik: ['Wójcik'],
  Kowalczyk: ['Kowalcyk'],
  'Al-Sayed': ['Alsayed', 'El-Sayed'],
  Okafor: ['Okafo'],
  Mensah: ['Mensa'],
};

// Street and place-name parts for fictional, English-sounding geography.
export const STREET_STEMS = `Mill Church Station Oak Elm Ash Willow Beech Chestnut Meadow Orchard Park Victoria
  Albert Queens Kings Princes Castle Bridge River Brook Spring Well Manor Grange Abbey Priory Chapel School
  Market High Back Water Canal Wharf Forge Tannery Foundry Railway Windmill Hawthorn Rowan Holly Ivy Laurel
  Cedar Sycamore Poplar Larch Heather Bracken Fern Primrose Bluebell Clover Foxglove Lavender Rose Daisy
  Lark Wren Robin Swallow Heron Kestrel Badger Fox Hare Otter Falcon Juniper Hazel Alder Birch Maple Linden
  Cherry Plum Damson Quarry Kiln Weaver Cooper Tanner Fuller Carter Chandler Bakers Brewers Saxon Roman
  Norman Tudor Stuart Hanover Windsor Lancaster York Gloucester Clarence Cambridge Oxford Nelson Wellington
  Trafalgar Waterloo Balaclava Alma Inkerman Marlborough Hampton Ashby Bradley Cavendish Fairfield
  Greenfield Highfield Longfield Broadfield Moorland Heath Common Green Vale Dale Hollow Ridge Hill Knoll
  Tor Fell Moss Marsh Fen Lea Croft Garth Holme Thorpe Stile Gate Cross Steps Stoney Sandy Clay Chalk Flint
  Slate Copper Silver Golden Sunny Pleasant Prospect Mount Belle Rosemary Thyme Sage Mulberry Quince Medlar`
  .trim()
  .split(/\s+/);

export const STREET_SUFFIXES: WeightedNames = {
  names: [
    'Road',
    'Street',
    'Lane',
    'Close',
    'Avenue',
    'Way',
    'Crescent',
    'Drive',
    'Gardens',
    'Terrace',
    'Court',
    'Place',
    'Grove',
    'Rise',
    'View',
    'Walk',
    'Mews',
    'Row',
  ],
  weights: [20, 18, 14, 12, 9, 7, 6, 6, 5, 4, 4, 3, 3, 2, 2, 2, 1, 1],
};

/** Parts for fictional locality names: a prefix and a suffix, e.g. "North" + "gate". */
export const LOCALITY_PREFIXES = `North South East West Upper Lower Old New Market Church Mill Bridge Brook
  Ash Oak Elm Thorn Kings Queens Bishops Abbots Hay Whit Red Black Green Cold Long Broad Stan Wester Alder
  Hollins Sutton Norton Hatherley Copley Radley Lindley`
  .trim()
  .split(/\s+/);

export const LOCALITY_SUFFIXES = `gate field ton ley ford bury wick worth thorpe by ham stead cote well
  hurst croft holme dale side moor bridge brook wood`
  .trim()
  .split(/\s+/);

/** Fictional place names for the whole place ("Riverford" is the default). */
export const PLACE_NAMES = ['Riverford', 'Ashbridge', 'Millhaven', 'Kestonbury', 'Wyvernham', 'Thornbeck'];
