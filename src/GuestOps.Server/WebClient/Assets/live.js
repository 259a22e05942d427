// Live updates of the VM list (#vms) and the recent guest operations (#events) from /ui/live (server-sent events).
// Rows are built with textContent only: nothing from the server is parsed as HTML.
(function () {
    'use strict';
    const script = document.getElementById('live-script');
    const vm = script ? script.dataset.vm : null;
    const state = document.getElementById('live-state');
    const source = new EventSource('/ui/live' + (vm ? '?vm=' + encodeURIComponent(vm) : ''));

    function cell(row, text, className) {
        const td = document.createElement('td');
        td.textContent = text;
        if (className) td.className = className;
        row.appendChild(td);
        return td;
    }

    // What a table body shows, to leave it alone (links and buttons stay the same elements) when nothing changed.
    function signature(body) {
        return Array.from(body.rows).map(r => (r.dataset.vm || r.dataset.key || '') + '\u001f'
            + Array.from(r.cells).map(c => c.textContent.trim()).join('\u001f')).join('\u001e');
    }

    function replaceBody(table, rows) {
        if (!table) return;
        const body = document.createElement('tbody');
        rows.forEach(r => body.appendChild(r));
        if (signature(body) !== signature(table.tBodies[0])) {
            table.replaceChild(body, table.tBodies[0]);
        }
    }

    source.addEventListener('vms', e => {
        const vms = JSON.parse(e.data);
        replaceBody(document.getElementById('vms'), vms.map(v => {
            const row = document.createElement('tr');
            row.dataset.vm = v.id;
            const name = cell(row, '', 'name');
            const link = document.createElement('a');
            link.href = '/ui/vm/' + encodeURIComponent(v.id);
            link.textContent = v.name;
            name.appendChild(link);
            cell(row, v.powerState, 'power');
            cell(row, v.host, 'host');
            cell(row, v.guestOs, 'os');
            cell(row, v.tools, 'tools');
            cell(row, v.toolsVersion, 'toolsversion');
            cell(row, v.guestOperationsReady ? 'ready' : 'not ready', 'ready');
            cell(row, v.ipAddress, 'ip');
            return row;
        }));
    });

    source.addEventListener('events', e => {
        const events = JSON.parse(e.data);
        replaceBody(document.getElementById('events'), events.map(ev => {
            const row = document.createElement('tr');
            row.dataset.key = ev.key;
            row.className = ev.severity;
            row.title = ev.message;
            [ev.time, ev.user, ev.operation, ev.vm, ev.guestUser, ev.result].forEach(t => cell(row, t));
            return row;
        }));
    });

    source.addEventListener('signedout', () => {
        source.close();
        window.location.assign('/ui/login');
    });
    source.onopen = () => { if (state) { state.textContent = 'live'; state.classList.remove('offline'); } };
    source.onerror = () => { if (state) { state.textContent = 'reconnecting'; state.classList.add('offline'); } };
})();
