// Saves an assessment in progress as a draft on the server as the practitioner goes: a moment
// after each change, and shortly after typing stops. A session that times out then loses at
// most the last few seconds; the draft comes back when the assessment is opened again.
/* global document, fetch, FormData, URLSearchParams, clearTimeout, setTimeout */
const form = document.querySelector('form[data-draft-url]');
const status = document.getElementById('draft-status');
if (form && status) {
  let timer;
  const save = async () => {
    try {
      const response = await fetch(form.dataset.draftUrl, {
        method: 'POST', credentials: 'same-origin', headers: { accept: 'application/json' }, body: new URLSearchParams(new FormData(form)),
      });
      if (response.ok) status.textContent = (await response.json()).text;
      else if (response.status === 401) status.textContent = 'Your session has ended. Sign in again and open this assessment: your draft is kept up to the last change saved.';
      else status.textContent = 'Your draft could not be saved just now. Use "Save and come back later" to try again.';
    } catch {
      status.textContent = 'Your draft could not be saved just now (no connection). Use "Save and come back later" to try again.';
    }
  };
  const later = (ms) => { clearTimeout(timer); timer = setTimeout(save, ms); };
  form.addEventListener('change', () => later(500));
  form.addEventListener('input', () => later(2000));
}
