// sessions.js — the load client for idle web chat sessions: opens N
// WebSocket sessions (the `ws` client, or socket.io-client for the
// socket.io peer), each says hello and waits for its welcome, then all sit
// idle until stdin closes; then they are closed. Prints one JSON line when
// every session is welcomed (or failed), bounded by a deadline.
//
// usage: node sessions.js redress|ws|sio URL N [DEADLINE_S]
'use strict';
const WebSocket = require('ws');
const { io } = require('socket.io-client');

const [kind, url, nArg, deadlineArg] = process.argv.slice(2);
const n = parseInt(nArg, 10);
const deadline = Date.now() + 1000 * parseInt(deadlineArg || '120', 10);
const INFLIGHT = 200; // handshakes at once
const open = [];
let started = 0, welcomed = 0, failed = 0, inflight = 0;
const t0 = Date.now();

function settle(ok) {
	inflight--;
	if (ok) welcomed++; else failed++;
	pump();
}

function one() {
	inflight++;
	started++;
	let done = false;
	const finish = (ok) => { if (!done) { done = true; settle(ok); } };
	if (kind === 'sio') {
		const s = io(url, { path: '/webchat/sio', transports: ['websocket'], forceNew: true,
			reconnection: false, timeout: 20000 });
		open.push(() => s.close());
		s.on('connect', () => s.emit('hello', { locale: 'en' }));
		s.on('welcome', () => finish(true));
		s.on('connect_error', () => finish(false));
		return;
	}
	const origin = url.replace(/^ws/, 'http').replace(/\/webchat\/ws$/, '');
	const ws = kind === 'redress'
		? new WebSocket(url, 'redress.webchat.v1', { headers: { Origin: origin }, perMessageDeflate: false })
		: new WebSocket(url, { perMessageDeflate: false });
	open.push(() => ws.terminate());
	ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', locale: 'en' })));
	ws.on('message', (d) => {
		try {
			if (JSON.parse(d).type === 'welcome') finish(true);
		} catch (e) { finish(false); }
	});
	ws.on('error', () => finish(false));
	ws.on('close', () => finish(false));
}

let reported = false;
function pump() {
	while (started < n && inflight < INFLIGHT && Date.now() < deadline)
		one();
	if (!reported && (welcomed + failed === n || (Date.now() >= deadline && inflight === 0))) {
		reported = true;
		process.stdout.write(JSON.stringify({ sessions: welcomed, failed, seconds: (Date.now() - t0) / 1000 }) + '\n');
	}
}
setTimeout(() => {
	if (!reported) {
		reported = true;
		process.stdout.write(JSON.stringify({ sessions: welcomed, failed: n - welcomed, seconds: (Date.now() - t0) / 1000, timeout: true }) + '\n');
	}
}, Math.max(0, deadline - Date.now())).unref();
pump();
process.stdin.resume();
process.stdin.on('end', () => {
	for (const close of open) close();
	setTimeout(() => process.exit(0), 200);
});
