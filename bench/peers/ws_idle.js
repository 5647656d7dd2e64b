// ws_idle.js — the peer for idle web chat sessions: a Node `ws` server that
// speaks the same first exchange as redress's web chat (the client's hello,
// a welcome with a session token) and keeps one small session object per
// socket, then lets them sit idle.
//
// usage: node ws_idle.js PORT
'use strict';
const { WebSocketServer } = require('ws');
const crypto = require('crypto');

const port = parseInt(process.argv[2], 10);
const sessions = new Map();
const wss = new WebSocketServer({ host: '127.0.0.1', port, path: '/webchat/ws' });
wss.on('connection', (ws) => {
	ws.on('message', (data) => {
		let f;
		try {
			f = JSON.parse(data);
		} catch (e) {
			return;
		}
		if (f.type === 'hello') {
			const token = crypto.randomBytes(16).toString('hex');
			const s = { token, locale: f.locale || 'en', ws };
			sessions.set(token, s);
			ws.on('close', () => sessions.delete(token));
			ws.send(JSON.stringify({ type: 'welcome', session: token, history: [] }));
		}
	});
});
wss.on('listening', () => console.log(`ws_idle listening on ${port}`));
