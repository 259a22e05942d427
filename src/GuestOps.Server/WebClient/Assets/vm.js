// The VM page: actions post the form in the background and swap in the new #results, so the guest credentials
// typed on the page stay in their fields (they are never stored anywhere). Downloads post normally (the answer is
// an attachment). Uploads ask the server for a one-time /guestFile URL and PUT the file there with a progress bar.
(function () {
    'use strict';
    const form = document.getElementById('guest-form');
    if (!form) return;

    async function post(url, data) {
        const response = await fetch(url, { method: 'POST', body: data, credentials: 'same-origin' });
        if (response.redirected && new URL(response.url).pathname === '/ui/login') {
            window.location.assign('/ui/login');
            return null;
        }
        return response;
    }

    form.addEventListener('submit', async e => {
        const submitter = e.submitter;
        if (!submitter || submitter.classList.contains('download')) return;
        e.preventDefault();
        const data = new FormData(form, submitter);
        form.classList.add('busy');
        try {
            const response = await post(submitter.formAction, data);
            if (!response) return;
            const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
            const fresh = doc.getElementById('results');
            if (fresh) {
                document.getElementById('results').replaceWith(fresh);
            } else {
                const results = document.getElementById('results');
                results.textContent = '';
                const p = document.createElement('p');
                p.className = 'fault';
                p.textContent = 'HTTP ' + response.status + ' ' + response.statusText;
                results.appendChild(p);
            }
            const path = doc.querySelector('#guest-form input[name=Path]');
            if (path) form.elements.Path.value = path.value;
        } finally {
            form.classList.remove('busy');
        }
    });

    const upload = document.getElementById('upload');
    if (!upload) return;
    const file = document.getElementById('upload-file');
    const progress = document.getElementById('upload-progress');
    const status = document.getElementById('upload-status');

    upload.addEventListener('click', async () => {
        const chosen = file.files[0];
        if (!chosen) { status.textContent = 'Choose a file first.'; return; }
        const data = new FormData(form);
        data.set('uploadName', chosen.name);
        data.set('uploadSize', String(chosen.size));
        status.textContent = 'Starting upload of ' + chosen.name + '...';
        const response = await post(upload.dataset.action, data);
        if (!response) return;
        const answer = await response.json();
        if (!response.ok) { status.textContent = answer.fault + ': ' + answer.message; return; }
        progress.hidden = false;
        progress.value = 0;
        const xhr = new XMLHttpRequest();
        xhr.open('PUT', answer.url);
        xhr.upload.onprogress = p => { if (p.lengthComputable) progress.value = Math.round(100 * p.loaded / p.total); };
        xhr.onload = () => {
            if (xhr.status === 200) {
                progress.value = 100;
                status.textContent = 'Uploaded ' + answer.path;
                document.getElementById('list').click();
            } else {
                status.textContent = 'Upload failed: HTTP ' + xhr.status + ' ' + xhr.responseText;
            }
        };
        xhr.onerror = () => { status.textContent = 'Upload failed: the connection broke.'; };
        xhr.send(chosen);
    });
})();
