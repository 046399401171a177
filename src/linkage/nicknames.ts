// Common English given-name diminutives: a nickname match is good evidence of
// the same person even though the strings look nothing alike (Peggy/Margaret).

const NICKNAME_GROUPS: readonly (readonly string[])[] = [
  ['robert', 'bob', 'bobby', 'rob', 'robbie', 'bert'],
  ['margaret', 'peggy', 'maggie', 'meg', 'madge', 'marge', 'greta'],
  ['elizabeth', 'liz', 'lizzie', 'beth', 'betty', 'bess', 'eliza', 'libby', 'elsie'],
  ['william', 'bill', 'billy', 'will', 'willie', 'liam'],
  ['richard', 'dick', 'rick', 'ricky', 'rich', 'richie'],
  ['james', 'jim', 'jimmy', 'jamie'],
  ['john', 'jack', 'johnny', 'jon'],
  ['jonathan', 'jon', 'jonny'],
  ['edward', 'ed', 'eddie', 'ted', 'teddy', 'ned'],
  ['thomas', 'tom', 'tommy'],
  ['charles', 'charlie', 'chuck', 'chas'],
  ['anthony', 'tony'],
  ['michael', 'mike', 'mick', 'mickey'],
  ['christopher', 'chris', 'kit'],
  ['christine', 'chris', 'chrissie', 'tina'],
  ['christina', 'chris', 'tina'],
  ['daniel', 'dan', 'danny'],
  ['david', 'dave', 'davy'],
  ['joseph', 'joe', 'joey'],
  ['samuel', 'sam', 'sammy'],
  ['samantha', 'sam', 'sammy'],
  ['alexander', 'alex', 'sandy', 'xander'],
  ['alexandra', 'alex', 'sandra', 'lexi'],
  ['andrew', 'andy', 'drew'],
  ['benjamin', 'ben', 'benny'],
  ['nicholas', 'nick', 'nicky'],
  ['matthew', 'matt'],
  ['stephen', 'steve', 'steven', 'stevie'],
  ['timothy', 'tim', 'timmy'],
  ['patrick', 'pat', 'paddy'],
  ['patricia', 'pat', 'patty', 'trish', 'tricia'],
  ['peter', 'pete'],
  ['philip', 'phil'],
  ['gerald', 'gerry', 'jerry'],
  ['lawrence', 'larry', 'laurie'],
  ['leonard', 'len', 'lenny', 'leo'],
  ['kenneth', 'ken', 'kenny'],
  ['ronald', 'ron', 'ronnie'],
  ['donald', 'don', 'donnie'],
  ['henry', 'harry', 'hank', 'hal'],
  ['frederick', 'fred', 'freddie'],
  ['francis', 'frank', 'fran'],
  ['frances', 'fran', 'frankie', 'fanny'],
  ['katherine', 'kate', 'kathy', 'katie', 'kath', 'kitty', 'catherine', 'cathy', 'kay'],
  ['susan', 'sue', 'susie'],
  ['deborah', 'debbie', 'deb'],
  ['rebecca', 'becky', 'becca'],
  ['jennifer', 'jen', 'jenny'],
  ['jessica', 'jess', 'jessie'],
  ['victoria', 'vicky', 'tori'],
  ['dorothy', 'dot', 'dolly', 'dottie'],
  ['mary', 'molly', 'polly', 'mae'],
  ['sarah', 'sally', 'sadie'],
  ['ann', 'anne', 'annie', 'nancy', 'nan'],
  ['helen', 'nell', 'nellie'],
  ['eleanor', 'ellie', 'nell', 'nora'],
  ['abigail', 'abby', 'gail'],
  ['judith', 'judy', 'jude'],
  ['barbara', 'babs', 'barb'],
  ['josephine', 'jo', 'josie'],
  ['joanne', 'jo', 'joanna'],
  ['theresa', 'terri', 'tess', 'tessa'],
  ['terence', 'terry'],
  ['raymond', 'ray'],
  ['albert', 'al', 'bert', 'bertie'],
  ['alfred', 'alf', 'alfie', 'fred'],
  ['arthur', 'art', 'artie'],
  ['douglas', 'doug', 'dougie'],
  ['gregory', 'greg'],
  ['jacqueline', 'jackie', 'jacqui'],
  ['pamela', 'pam'],
  ['sandra', 'sandy'],
  ['valerie', 'val'],
  ['zachary', 'zach', 'zack'],
  ['oliver', 'ollie'],
  ['harold', 'harry', 'hal'],
  ['isabel', 'izzy', 'bella', 'isabella'],
  ['gwendolyn', 'gwen'],
  ['cynthia', 'cindy'],
  ['wendy', 'gwendolyn'],
];

function buildNicknameIndex(): Map<string, Set<number>> {
  const index = new Map<string, Set<number>>();
  NICKNAME_GROUPS.forEach((group, groupNumber) => {
    for (const name of group) {
      let groups = index.get(name);
      if (!groups) index.set(name, (groups = new Set()));
      groups.add(groupNumber);
    }
  });
  return index;
}

const nicknameIndex = buildNicknameIndex();

/** True when the two (normalised, different) names are known variants of one name. */
export function areNicknames(a: string, b: string): boolean {
  const groupsA = nicknameIndex.get(a);
  if (!groupsA) return false;
  const groupsB = nicknameIndex.get(b);
  if (!groupsB) return false;
  for (const group of groupsA) if (groupsB.has(group)) return true;
  return false;
}

/** Number of name–nickname pairs the table knows (for tests and docs). */
export function nicknamePairCount(): number {
  return NICKNAME_GROUPS.reduce((total, group) => total + group.length - 1, 0);
}
