// What an app is granted, as its token response says: the scopes asked for, within its
// registration, the user's role and the launch context, narrowed rather than refused; and the
// redirect and launch URIs an administrator may register.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { grantScopes, scopesAllow, resourceScopesOf } from './scopes.ts';
import { checkAppUri } from './clients.ts';

const practitioner = { role: 'practitioner' as const, launched: true, hasPatient: true };

test('v2 and v1 scopes are granted within the registration, narrowed to the permissions it allows', () => {
  assert.equal(
    grantScopes('launch patient/Observation.rs user/Patient.read', 'launch patient/*.rs user/*.rs', practitioner),
    'launch patient/Observation.rs user/Patient.read',
  );
  assert.equal(grantScopes('patient/Observation.cruds', 'patient/*.rs', practitioner), 'patient/Observation.rs');
  assert.equal(grantScopes('patient/Observation.write', 'patient/*.rs', practitioner), '');
  assert.equal(grantScopes('patient/Observation.*', 'patient/Observation.rs', practitioner), 'patient/Observation.rs');
});

test('what is never granted: system/ scopes, v2 query scopes, openid, patient/ scopes without a patient, user/ scopes for a resident, anything for an administrator', () => {
  const ceiling = 'launch launch/patient patient/*.cruds user/*.cruds offline_access';
  assert.equal(grantScopes('system/*.rs patient/Observation.rs?category=laboratory openid fhirUser', ceiling, practitioner), '');
  assert.equal(
    grantScopes('patient/Patient.rs user/Patient.rs', ceiling, { ...practitioner, launched: false, hasPatient: false }),
    'user/Patient.rs',
  );
  assert.equal(
    grantScopes('launch/patient patient/Patient.rs user/Patient.rs', ceiling, { role: 'citizen', launched: false, hasPatient: true }),
    'launch/patient patient/Patient.rs',
  );
  assert.equal(grantScopes('user/*.rs patient/*.rs', ceiling, { role: 'admin', launched: true, hasPatient: true }), '');
  assert.equal(
    grantScopes('launch patient/*.rs', ceiling, { ...practitioner, launched: false }),
    'patient/*.rs',
    'launch is granted only with a launch',
  );
});

test('a user/ scope allows as the user may; a patient/ scope allows confined to the launch patient; nothing else is allowed', () => {
  const scopes = resourceScopesOf('patient/Observation.rs user/Practitioner.r');
  assert.deepEqual(scopesAllow(scopes, 'Observation', 's'), { allowed: true, confined: true });
  assert.deepEqual(scopesAllow(scopes, 'Practitioner', 'r'), { allowed: true, confined: false });
  assert.deepEqual(scopesAllow(scopes, 'Practitioner', 's'), { allowed: false });
  assert.deepEqual(scopesAllow(scopes, 'Observation', 'c'), { allowed: false });
});

test('registered URIs are https, or http to this machine only, without fragments or credentials', () => {
  assert.equal(checkAppUri('https://app.example/callback', 'a redirect URI'), 'https://app.example/callback');
  assert.equal(checkAppUri('http://127.0.0.1:8080/cb', 'a redirect URI'), 'http://127.0.0.1:8080/cb');
  for (const bad of [
    'http://app.example/cb',
    'https://app.example/cb#x',
    'https://user:pw@app.example/cb',
    'javascript:alert(1)',
    '/relative',
  ])
    assert.throws(() => checkAppUri(bad, 'a redirect URI'), /must/, bad);
});
